//! Scopes: what a user grants an app, and what a route needs. A route needs one [`Permission`]
//! (read or write one area of the user's data, or the bulk sync); a user grants [`Grant`]s, and a
//! parent grants its children: `user` (or `*`, `user.*`) everything, `user.read` (`*.read`) every
//! read, `user.write` (`*.write`) every write, `user.subscriptions` both accesses to subscriptions.
//! `user.sync` is its own scope: the bulk sync reads and writes everything at once, so only it,
//! `user` and `*` grant it.

use std::fmt;

/// An area of a user's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Subscriptions,
    Plays,
    Playlists,
    Collections,
    Privacy,
    Devices,
}

impl Area {
    pub const ALL: [Self; 6] = [
        Self::Subscriptions,
        Self::Plays,
        Self::Playlists,
        Self::Collections,
        Self::Privacy,
        Self::Devices,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscriptions => "subscriptions",
            Self::Plays => "plays",
            Self::Playlists => "playlists",
            Self::Collections => "collections",
            Self::Privacy => "privacy",
            Self::Devices => "devices",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub const ALL: [Self; 2] = [Self::Read, Self::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// What one route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    Data(Area, Access),
    Sync,
}

impl Permission {
    /// Every permission a route may need.
    pub fn all() -> impl Iterator<Item = Self> {
        Area::ALL
            .into_iter()
            .flat_map(|area| Access::ALL.into_iter().map(move |a| Self::Data(area, a)))
            .chain([Self::Sync])
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Data(area, access) => write!(f, "user.{}.{}", area.as_str(), access.as_str()),
            Self::Sync => f.write_str("user.sync"),
        }
    }
}

/// One scope a user granted an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grant {
    /// `user`, `user.*` or `*`: everything.
    Everything,
    /// `user.read` or `*.read`.
    EveryRead,
    /// `user.write` or `*.write`.
    EveryWrite,
    /// `user.{area}`: both accesses to one area.
    Area(Area),
    /// `user.{area}.{read|write}`.
    Data(Area, Access),
    /// `user.sync`.
    Sync,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope (known: user, user.read, user.write, user.sync, user.{{area}}[.read|.write], *, *.read, *.write)"
)]
pub struct UnknownScope;

impl Grant {
    /// A scope as written in a request; the aliases (`*`, `user.*`, `*.read`, `*.write`) parse to
    /// the grant they mean.
    pub fn parse(raw: &str) -> Result<Self, UnknownScope> {
        Ok(match raw {
            "*" | "user" | "user.*" => Self::Everything,
            "*.read" | "user.read" => Self::EveryRead,
            "*.write" | "user.write" => Self::EveryWrite,
            "user.sync" => Self::Sync,
            _ => {
                let rest = raw.strip_prefix("user.").ok_or(UnknownScope)?;
                match rest.split_once('.') {
                    None => Self::Area(Area::parse(rest).ok_or(UnknownScope)?),
                    Some((area, access)) => Self::Data(
                        Area::parse(area).ok_or(UnknownScope)?,
                        Access::parse(access).ok_or(UnknownScope)?,
                    ),
                }
            }
        })
    }

    /// Whether this grant covers `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        match (self, permission) {
            (Self::Everything, _) => true,
            (Self::Sync, Permission::Sync) => true,
            (Self::EveryRead, Permission::Data(_, Access::Read))
            | (Self::EveryWrite, Permission::Data(_, Access::Write)) => true,
            (Self::Area(a), Permission::Data(b, _)) => a == b,
            (Self::Data(a, x), Permission::Data(b, y)) => a == b && x == y,
            _ => false,
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Everything => f.write_str("user"),
            Self::EveryRead => f.write_str("user.read"),
            Self::EveryWrite => f.write_str("user.write"),
            Self::Area(area) => write!(f, "user.{}", area.as_str()),
            Self::Data(area, access) => write!(f, "user.{}.{}", area.as_str(), access.as_str()),
            Self::Sync => f.write_str("user.sync"),
        }
    }
}

/// The scopes granted to one app by one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Grant>);

impl Scopes {
    /// Space-separated scopes (as OAuth writes them); an unknown one is an error, never ignored.
    pub fn parse(raw: &str) -> Result<Self, UnknownScope> {
        let mut grants: Vec<Grant> = raw
            .split_whitespace()
            .map(Grant::parse)
            .collect::<Result<_, _>>()?;
        grants.sort_unstable();
        grants.dedup();
        Ok(Self(grants))
    }

    /// Every scope: what an app trusted by the operator's key directory holds (development keys,
    /// until apps are authorized by their users).
    pub fn everything() -> Self {
        Self(vec![Grant::Everything])
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.0.iter().any(|g| g.grants(permission))
    }

    pub fn grants(&self) -> &[Grant] {
        &self.0
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&texts.join(" "))
    }
}

#[cfg(test)]
mod tests;
