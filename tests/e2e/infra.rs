//! A whole private infrastructure for tests that crash it: SeaweedFS, tansu on S3 storage (the
//! broker configuration `./dev/up` runs) and a PostgreSQL server, each on its own ports and in its
//! own directory, started, killed and restarted by the project's own scripts (`dev/lib/infra.sh`).
//! Only one such infrastructure runs at a time (its ports are fixed, away from `./dev/up`'s).

use crate::helpers::repo_root;
use std::path::PathBuf;
use std::process::Command;

pub const KAFKA_PORT: u16 = 29092;
pub const PG_PORT: u16 = 25433;
/// SeaweedFS: S3, master, volume, filer, admin (gRPC ports are these + 10000).
const WEED_PORTS: [(&str, u16); 5] = [
    ("INFRA_S3_PORT", 28333),
    ("INFRA_WEED_MASTER_PORT", 29333),
    ("INFRA_WEED_VOLUME_PORT", 29340),
    ("INFRA_WEED_FILER_PORT", 28888),
    ("INFRA_WEED_ADMIN_PORT", 33647),
];

#[derive(Debug)]
pub struct Infra {
    pub dir: PathBuf,
}

impl Infra {
    /// Starts SeaweedFS, tansu (s3) and PostgreSQL in a new directory.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "balados-infra-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        std::fs::create_dir_all(&dir).expect("infra dir");
        let infra = Self { dir };
        infra.start_storage();
        infra.start_broker();
        infra.start_postgres();
        infra
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{KAFKA_PORT}")
    }

    pub fn database_url(&self) -> String {
        format!("postgres://balados:balados@127.0.0.1:{PG_PORT}/balados")
    }

    fn pg_dir(&self) -> String {
        self.dir.join("postgres").display().to_string()
    }

    /// Runs `script` after sourcing `dev/lib/infra.sh` with this infrastructure's settings.
    fn bash(&self, script: &str) {
        let venv = crate::helpers::python()
            .parent()
            .and_then(std::path::Path::parent)
            .map_or_else(|| repo_root().join(".dev/venv"), PathBuf::from);
        let output = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -euo pipefail; source dev/lib/infra.sh; {script}"
            ))
            .current_dir(repo_root())
            .env("BALADOS_DEV_DIR", &self.dir)
            .env("DEV_VENV", venv)
            .env("INFRA_WEED_NAME", "seaweedfs-faults")
            .env("INFRA_TANSU_CLUSTER_ID", "balados-faults")
            .envs(WEED_PORTS.iter().map(|(k, v)| (*k, v.to_string())))
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "infra script `{script}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn kill_pidfile(&self, name: &str) {
        let pidfile = self.dir.join("run").join(format!("{name}.pid"));
        let pid = std::fs::read_to_string(&pidfile).expect("pid file");
        self.bash(&format!(
            "kill -KILL {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.05; done",
            pid = pid.trim()
        ));
    }

    pub fn start_storage(&self) {
        self.bash("infra_start_seaweedfs \"$BALADOS_DEV_DIR/seaweedfs\"");
    }

    pub fn kill_storage(&self) {
        self.kill_pidfile("seaweedfs-faults");
    }

    pub fn start_broker(&self) {
        self.bash(&format!("infra_start_tansu persistent {KAFKA_PORT}"));
    }

    pub fn kill_broker(&self) {
        self.kill_pidfile(&format!("tansu-{KAFKA_PORT}"));
    }

    pub fn start_postgres(&self) {
        self.bash(&format!(
            "infra_start_private_postgres {} {PG_PORT}",
            self.pg_dir()
        ));
    }

    pub fn kill_postgres(&self) {
        self.bash(&format!("infra_kill_private_postgres {}", self.pg_dir()));
    }
}

impl Drop for Infra {
    fn drop(&mut self) {
        let script = format!(
            "infra_stop_tansu {KAFKA_PORT} || true; infra_stop_seaweedfs || true; \
             infra_stop_private_postgres {} || true",
            self.pg_dir()
        );
        // Not `bash`: a failure while dropping must not panic again.
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!("source dev/lib/infra.sh; {script}"))
            .current_dir(repo_root())
            .env("BALADOS_DEV_DIR", &self.dir)
            .env("INFRA_WEED_NAME", "seaweedfs-faults")
            .envs(WEED_PORTS.iter().map(|(k, v)| (*k, v.to_string())))
            .output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
