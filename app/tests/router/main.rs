//! The HTTP layer in process, through the router with `oneshot`: every write route's parsing,
//! authentication and error mapping, with the application's own layers (body limit, deadline,
//! fallback), and commands kept by a recorder instead of a broker. What needs the real broker and
//! database stays in the end-to-end suite.

mod helpers;
mod parsing;
mod refusals;
mod scopes;
mod sync;
mod tokens;
