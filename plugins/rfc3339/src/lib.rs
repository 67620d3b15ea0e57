//! RFC 3339 times to and from seconds and nanoseconds since the Unix epoch.
//!
//! The host reads the times in event logs, policies and waivers, and the
//! rule SDK reads the times in rule configurations and tests; both print
//! times in reports and finding messages. They must read and print a time
//! the same way, or a rule and the host disagree about an instant, so both
//! use this crate. It has no dependencies, so that it costs a WebAssembly
//! rule next to nothing.
//!
//! ```
//! assert_eq!(
//!     covenant_rfc3339::parse("2026-08-18T00:00:00+08:00"),
//!     Ok((1_786_982_400, 0))
//! );
//! assert_eq!(
//!     covenant_rfc3339::format(1_786_982_400, 500_000_000),
//!     "2026-08-17T16:00:00.500Z"
//! );
//! ```

mod calendar;
mod format;
mod parse;

use std::fmt;

pub use format::format;
pub use parse::parse;

/// Why a text is not an RFC 3339 time.
///
/// Its [`Display`](fmt::Display) is the reason alone, such as `input is
/// out of range`, for the caller to put after the text it could not read.
/// The words are those the host has always shown, because users see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The text stops before the time is complete: `2026-01-01T00:00`.
    Truncated,
    /// A character where the syntax allows none like it: `2026/01/01...`.
    InvalidCharacter,
    /// A field past its range: month 13, 30 February, hour 24, second 61,
    /// an offset of 24 hours or more.
    OutOfRange,
    /// Text after a complete time: `2026-01-01T00:00:00Z and more`.
    TrailingInput,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "premature end of input",
            Error::InvalidCharacter => "input contains invalid characters",
            Error::OutOfRange => "input is out of range",
            Error::TrailingInput => "trailing input",
        })
    }
}

impl std::error::Error for Error {}
