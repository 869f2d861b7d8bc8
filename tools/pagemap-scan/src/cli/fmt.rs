// SPDX-License-Identifier: GPL-2.0
//! Allocation-free formatting: sizes, category lists, JSON helpers.

use std::fmt;

use pagemap_scan::abi::CATEGORY_NAMES;
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// A small stack buffer implementing [`fmt::Write`], so that a value can
/// be formatted once and then padded with [`fmt::Formatter::pad`].
struct StackBuf {
    buf: [u8; 32],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 32],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only `write_str` fills the buffer, with whole `str`s.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A byte count shown as a size: human units (`4K`, `1.5M`, `2G`), or
/// exact KiB; honours width and alignment (`{:>8}`).
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub bytes: u64,
    pub kib: bool,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
        let mut b = StackBuf::new();
        let bytes = self.bytes;
        if self.kib {
            write!(b, "{}", bytes / 1024)?;
        } else if bytes == 0 {
            b.write_str("0")?;
        } else if bytes < 1024 {
            write!(b, "{bytes}B")?;
        } else {
            let mut v = bytes as f64 / 1024.0;
            let mut i = 0;
            while v >= 1024.0 && i < UNITS.len() - 1 {
                v /= 1024.0;
                i += 1;
            }
            // One decimal below 10 units; whole units above (like `ls -h`).
            if v >= 10.0 || (v - v.round()).abs() < 0.05 {
                write!(b, "{}{}", v.round() as u64, UNITS[i])?;
            } else {
                write!(b, "{v:.1}{}", UNITS[i])?;
            }
        }
        f.pad(b.as_str())
    }
}

/// Category bits as comma-separated names (`-` for none).
#[derive(Clone, Copy, Debug)]
pub struct Categories(pub u64);

impl fmt::Display for Categories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, name) in CATEGORY_NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

impl Serialize for Categories {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = CATEGORY_NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .count();
        let mut seq = s.serialize_seq(Some(n))?;
        for (bit, name) in CATEGORY_NAMES {
            if self.0 & bit != 0 {
                seq.serialize_element(name)?;
            }
        }
        seq.end()
    }
}

/// `serialize_with` helper: an address as the string `"0x..."`.
pub fn hex<S: Serializer>(a: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{a:#x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(bytes: u64) -> String {
        Size { bytes, kib: false }.to_string()
    }

    #[test]
    fn sizes() {
        assert_eq!(h(4096), "4K");
        assert_eq!(h(1536 * 1024), "1.5M");
        assert_eq!(h(2 << 30), "2G");
        assert_eq!(h(100), "100B");
        assert_eq!(h(0), "0");
        assert_eq!(h(1024 * 1024 - 4096), "1020K");
        assert_eq!(h(u64::MAX), "16384P");
        assert_eq!(format!("{:>6}|", h(4096)), "    4K|");
        let k = Size {
            bytes: 12 << 20,
            kib: true,
        };
        assert_eq!(format!("{k:>8}|"), "   12288|");
        assert_eq!(
            format!(
                "{:<4}|",
                Size {
                    bytes: 0,
                    kib: true
                }
            ),
            "0   |"
        );
    }

    #[test]
    fn categories() {
        assert_eq!(Categories(0b1010).to_string(), "written,present");
        assert_eq!(Categories(0).to_string(), "-");
        assert_eq!(
            serde_json::to_string(&Categories(0b1010)).unwrap(),
            r#"["written","present"]"#
        );
        #[derive(serde::Serialize)]
        struct A {
            #[serde(serialize_with = "hex")]
            a: u64,
        }
        assert_eq!(
            serde_json::to_string(&A { a: 0x1000 }).unwrap(),
            r#"{"a":"0x1000"}"#
        );
    }
}
