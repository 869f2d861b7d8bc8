// SPDX-License-Identifier: GPL-2.0
//! Allocation-free formatting: sizes, category lists, JSON helpers.

use std::fmt;

use pagemap_scan::abi::CATEGORY_NAMES;
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// A line of output built in a fixed stack buffer, byte by byte: the
/// hot path of long region lists, where per-piece `memcpy` calls and
/// `fmt` machinery would dominate. Bytes past the capacity are dropped.
pub struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line {
            buf: [0; 256],
            len: 0,
        }
    }
}

impl Line {
    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Start over.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Append a byte.
    #[inline]
    pub fn byte(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    /// Append bytes.
    #[inline]
    pub fn bytes(&mut self, s: &[u8]) {
        for &b in s {
            self.byte(b);
        }
    }

    /// Append the decimal digits of `v`.
    pub fn dec(&mut self, mut v: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            // A constant divisor: a multiplication, not a division.
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.bytes(&tmp[i..]);
    }

    /// Append `v` in lower-case hexadecimal, without leading zeros.
    pub fn hex(&mut self, v: u64) {
        let digits = (64 - v.leading_zeros() as usize).div_ceil(4).max(1);
        for i in (0..digits).rev() {
            self.byte(b"0123456789abcdef"[((v >> (i * 4)) & 15) as usize]);
        }
    }

    /// Append what `f` appends, right-aligned in `width` columns.
    pub fn right(&mut self, width: usize, f: impl FnOnce(&mut Line)) {
        let start = self.len;
        f(self);
        let n = self.len - start;
        if n < width && start + width <= self.buf.len() {
            let pad = width - n;
            for i in (start..start + n).rev() {
                self.buf[i + pad] = self.buf[i];
            }
            self.buf[start..start + pad].fill(b' ');
            self.len = start + width;
        }
    }
}

/// A byte count shown as a size: human units (`4K`, `1.5M`, `2G`: one
/// decimal below 10 units, like `ls -h`), or exact KiB. As `Display`, it
/// honours width and alignment (`{:>8}`).
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub bytes: u64,
    pub kib: bool,
}

impl Size {
    /// Append the size, unpadded (integer arithmetic only).
    pub fn push(&self, out: &mut Line) {
        const UNITS: [u8; 5] = [b'K', b'M', b'G', b'T', b'P'];
        let bytes = self.bytes;
        if self.kib {
            return out.dec(bytes / 1024);
        }
        if bytes < 1024 {
            out.dec(bytes);
            if bytes > 0 {
                out.byte(b'B');
            }
            return;
        }
        // Unit 1024^(i+1); 1024^5 (P) at most, so that the sums below
        // cannot overflow u128, and u64 suffices below 2^60 bytes.
        let mut i = 0;
        while i < UNITS.len() - 1 && bytes >> (10 * (i + 2)) != 0 {
            i += 1;
        }
        let shift = 10 * (i + 1);
        let (tenths, whole) = if bytes < 1 << 59 {
            let unit = 1u64 << shift;
            (
                (bytes * 10 + unit / 2) >> shift,
                (bytes + unit / 2) >> shift,
            )
        } else {
            let (b, unit) = (u128::from(bytes), 1u128 << shift);
            (
                ((b * 10 + unit / 2) >> shift) as u64,
                ((b + unit / 2) >> shift) as u64,
            )
        };
        if tenths >= 100 || tenths.is_multiple_of(10) {
            out.dec(whole);
        } else {
            out.dec(tenths / 10);
            out.byte(b'.');
            out.dec(tenths % 10);
        }
        out.byte(UNITS[i]);
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = Line::default();
        self.push(&mut l);
        f.pad(std::str::from_utf8(l.as_bytes()).map_err(|_| fmt::Error)?)
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

impl Categories {
    /// Append the names (as `Display` does).
    pub fn push(&self, out: &mut Line) {
        let start = out.len;
        for (bit, name) in CATEGORY_NAMES {
            if self.0 & bit != 0 {
                if out.len > start {
                    out.byte(b',');
                }
                out.bytes(name.as_bytes());
            }
        }
        if out.len == start {
            out.byte(b'-');
        }
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
        assert_eq!(h(10239), "10K");
        assert_eq!(h(1023), "1023B");
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
    fn pushers() {
        let mut v = Line::default();
        v.hex(0x7f00_dead_0000);
        v.byte(b' ');
        v.dec(0);
        v.right(4, |o| o.dec(42));
        v.right(1, |o| o.hex(0));
        v.right(3, |o| o.hex(u64::MAX));
        Categories(0b1010).push(&mut v);
        Categories(0).push(&mut v);
        assert_eq!(
            v.as_bytes(),
            b"7f00dead0000 0  420ffffffffffffffffwritten,present-"
        );
        v.clear();
        for _ in 0..300 {
            v.byte(b'x');
        }
        assert_eq!(v.as_bytes().len(), 256);
        for b in [
            0,
            1,
            1023,
            1024,
            1536 * 1024,
            10239,
            10 << 20,
            u64::MAX,
            1 << 50,
        ] {
            // Agrees with a float computation.
            let f = b as f64;
            let s = h(b);
            if b >= 1024 {
                let unit = [1u64 << 10, 1 << 20, 1 << 30, 1 << 40, 1 << 50]
                    .into_iter()
                    .rev()
                    .find(|u| b >= *u)
                    .unwrap();
                let v = f / unit as f64;
                assert!(
                    (s[..s.len() - 1].parse::<f64>().unwrap() - v).abs() <= 0.5,
                    "{b}: {s}"
                );
            }
        }
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

/// `b` for a terminal: each C0 control byte and DEL becomes `?`, as pmap
/// and ps print them, so that a file name or an argument cannot move the
/// cursor, clear the screen or split a line.
pub fn term_safe(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if b.iter().all(|&c| c >= 0x20 && c != 0x7f) {
        return std::borrow::Cow::Borrowed(b);
    }
    std::borrow::Cow::Owned(
        b.iter()
            .map(|&c| if c < 0x20 || c == 0x7f { b'?' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod term_tests {
    use super::term_safe;

    #[test]
    fn controls_are_replaced() {
        assert_eq!(&*term_safe(b"/usr/lib/libc.so.6"), b"/usr/lib/libc.so.6");
        assert_eq!(&*term_safe(b"a\x1b[2Jb\nc\x7f\t"), b"a?[2Jb?c??");
        // UTF-8 above 0x7f is kept as it is.
        assert_eq!(
            &*term_safe("\u{e9}t\u{e9}".as_bytes()),
            "\u{e9}t\u{e9}".as_bytes()
        );
    }
}
