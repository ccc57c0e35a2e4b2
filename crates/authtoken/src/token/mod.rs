//! Tokens: their text (minting, the shape check, what a row stores for a token) and the form
//! issued tokens take.
//!
//! A token is 32 bytes from the operating system's CSPRNG, encoded base64url without padding:
//! always 43 characters of `[A-Za-z0-9_-]`, the same as Python's `secrets.token_urlsafe()`, so a
//! table can be shared with fastapi-users in plain mode.

mod format;
mod plaintext;

pub use format::*;
pub use plaintext::*;
