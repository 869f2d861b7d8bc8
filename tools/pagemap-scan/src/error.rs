// SPDX-License-Identifier: GPL-2.0
//! Errors that name their cause and still carry the errno.

use std::error::Error;
use std::fmt;
use std::io;

/// An [`io::Error`] with a sentence of context in front of it.
#[derive(Debug)]
pub struct Annotated {
    context: String,
    source: io::Error,
}

impl fmt::Display for Annotated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl Error for Annotated {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Wrap `source` with `context`, keeping its kind and errno (see [`errno`]).
pub fn annotate(source: io::Error, context: impl Into<String>) -> io::Error {
    io::Error::new(
        source.kind(),
        Annotated {
            context: context.into(),
            source,
        },
    )
}

/// The errno carried by `e`, also through [`annotate`] wrappers.
pub fn errno(e: &io::Error) -> Option<i32> {
    if let Some(n) = e.raw_os_error() {
        return Some(n);
    }
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Annotated>())
        .and_then(|a| errno(&a.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotate_keeps_errno() {
        let e = annotate(io::Error::from_raw_os_error(libc::ENOTTY), "probing");
        assert_eq!(errno(&e), Some(libc::ENOTTY));
        assert!(e.to_string().starts_with("probing: "));
        let e2 = annotate(e, "outer");
        assert_eq!(errno(&e2), Some(libc::ENOTTY));
        assert_eq!(errno(&io::Error::other("x")), None);
    }
}
