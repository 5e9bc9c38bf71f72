//! Public statistics, without authentication: trending podcasts and episodes over a window, the
//! popularity of one podcast or episode, and the timeline of public events. Everything here comes
//! from `site.*`, which holds only what the owners' privacy lets out (anonymous events without
//! their user id).

mod popularity;
mod timeline;
mod trending;

pub use popularity::{episode_popularity, feed_popularity};
pub use timeline::timeline;
pub use trending::{trending_episodes, trending_podcasts};
