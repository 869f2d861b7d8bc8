// SPDX-License-Identifier: GPL-2.0
//! `/proc/PID/maps` parsing.

use std::fs;
use std::io;

/// One line of `/proc/PID/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Permissions, e.g. `r-xp`.
    pub perms: String,
    /// File offset.
    pub offset: u64,
    /// Device, `major:minor`.
    pub dev: String,
    /// Inode number.
    pub inode: u64,
    /// Path or pseudo-name (`[heap]`, `[stack]`, ...), empty for anonymous.
    pub path: String,
}

impl Vma {
    /// True for VMAs a user-space `PAGEMAP_SCAN` cannot address: those above
    /// the user address limit, like x86-64's legacy `[vsyscall]` page (the
    /// ioctl rejects them with `EFAULT`).
    pub fn is_kernel_gate(&self) -> bool {
        self.path == "[vsyscall]" || self.start >= 0x8000_0000_0000_0000
    }

    /// Display name: the path, or `[anon]`.
    pub fn name(&self) -> &str {
        if self.path.is_empty() {
            "[anon]"
        } else {
            &self.path
        }
    }
}

fn bad(line: &str, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed maps line ({what}): {line:?}"),
    )
}

/// Split off the next whitespace-separated field of `s`.
fn field<'a>(s: &mut &'a str) -> Option<&'a str> {
    let t = s.trim_start_matches(' ');
    if t.is_empty() {
        return None;
    }
    let end = t.find(' ').unwrap_or(t.len());
    let (f, rest) = t.split_at(end);
    *s = rest;
    Some(f)
}

/// Parse one line of `/proc/PID/maps`.
pub fn parse_line(line: &str) -> io::Result<Vma> {
    let mut rest = line;
    let range = field(&mut rest).ok_or_else(|| bad(line, "range"))?;
    let perms = field(&mut rest).ok_or_else(|| bad(line, "perms"))?;
    let offset = field(&mut rest).ok_or_else(|| bad(line, "offset"))?;
    let dev = field(&mut rest).ok_or_else(|| bad(line, "dev"))?;
    let inode = field(&mut rest).ok_or_else(|| bad(line, "inode"))?;
    let (s, e) = range.split_once('-').ok_or_else(|| bad(line, "range"))?;
    let hex = |v: &str, what| u64::from_str_radix(v, 16).map_err(|_| bad(line, what));
    Ok(Vma {
        start: hex(s, "start")?,
        end: hex(e, "end")?,
        perms: perms.to_string(),
        offset: hex(offset, "offset")?,
        dev: dev.to_string(),
        inode: inode.parse().map_err(|_| bad(line, "inode"))?,
        path: rest.trim_start_matches(' ').to_string(),
    })
}

/// Parse the whole text of a maps file.
pub fn parse(text: &str) -> io::Result<Vec<Vma>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect()
}

/// Read and parse `/proc/PID/maps` (`None` for `/proc/self/maps`).
pub fn read(pid: Option<u32>) -> io::Result<Vec<Vma>> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/maps"),
        None => "/proc/self/maps".to_string(),
    };
    parse(&fs::read_to_string(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
55d0c8a00000-55d0c8a02000 r--p 00000000 fd:01 1234                       /usr/bin/cat
55d0c9b3c000-55d0c9b5d000 rw-p 00000000 00:00 0                          [heap]
7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 
7f1e2d000000-7f1e2d001000 rw-s 00001000 00:05 77                         /memfd:my file (deleted)
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";

    #[test]
    fn parses_sample() {
        let v = parse(SAMPLE).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v[0].start, 0x55d0c8a00000);
        assert_eq!(v[0].end, 0x55d0c8a02000);
        assert_eq!(v[0].perms, "r--p");
        assert_eq!(v[0].dev, "fd:01");
        assert_eq!(v[0].inode, 1234);
        assert_eq!(v[0].path, "/usr/bin/cat");
        assert_eq!(v[1].name(), "[heap]");
        assert_eq!(v[2].path, "");
        assert_eq!(v[2].name(), "[anon]");
        assert_eq!(v[3].offset, 0x1000);
        assert_eq!(v[3].path, "/memfd:my file (deleted)");
        assert!(v[4].is_kernel_gate());
        assert!(!v[1].is_kernel_gate());
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_line("zzz").is_err());
        assert!(parse_line("1000-2000 rw-p").is_err());
        assert!(parse_line("x-2000 rw-p 0 00:00 0").is_err());
    }

    #[test]
    fn reads_self() {
        let v = read(None).unwrap();
        assert!(v.iter().any(|m| m.path == "[stack]"));
    }
}
