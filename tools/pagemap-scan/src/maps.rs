// SPDX-License-Identifier: GPL-2.0
//! `/proc/PID/maps` parsing.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

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
    /// File names are bytes, not necessarily UTF-8, exactly as the kernel
    /// prints them (it escapes only `\n`, as `\012`).
    pub path: OsString,
}

impl Vma {
    /// True for VMAs a user-space `PAGEMAP_SCAN` cannot address: those above
    /// the user address limit, like x86-64's legacy `[vsyscall]` page (the
    /// ioctl rejects them with `EFAULT`). arm64 has none (its `[vdso]` and
    /// `[vvar]` are ordinary user VMAs), nor does any 64-bit architecture
    /// put user VMAs in the upper half of the address space.
    pub fn is_kernel_gate(&self) -> bool {
        self.path == "[vsyscall]" || self.start >= 0x8000_0000_0000_0000
    }

    /// Display name: the path, or `[anon]`.
    pub fn name(&self) -> &OsStr {
        if self.path.is_empty() {
            OsStr::new("[anon]")
        } else {
            &self.path
        }
    }
}

fn bad(line: &[u8], what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "malformed maps line ({what}): {:?}",
            String::from_utf8_lossy(line)
        ),
    )
}

/// Split off the next space-separated field of `s`.
fn field<'a>(s: &mut &'a [u8]) -> Option<&'a [u8]> {
    let start = s.iter().position(|&b| b != b' ')?;
    let t = &s[start..];
    let end = t.iter().position(|&b| b == b' ').unwrap_or(t.len());
    let (f, rest) = t.split_at(end);
    *s = rest;
    Some(f)
}

fn hex(line: &[u8], v: &[u8], what: &str) -> io::Result<u64> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .ok_or_else(|| bad(line, what))
}

fn text(line: &[u8], v: &[u8], what: &str) -> io::Result<String> {
    String::from_utf8(v.to_vec()).map_err(|_| bad(line, what))
}

/// Parse one line of `/proc/PID/maps` (text or bytes; the path may be any
/// bytes, the other fields are ASCII).
pub fn parse_line(line: impl AsRef<[u8]>) -> io::Result<Vma> {
    let line = line.as_ref();
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut rest = line;
    let range = field(&mut rest).ok_or_else(|| bad(line, "range"))?;
    let perms = field(&mut rest).ok_or_else(|| bad(line, "perms"))?;
    let offset = field(&mut rest).ok_or_else(|| bad(line, "offset"))?;
    let dev = field(&mut rest).ok_or_else(|| bad(line, "dev"))?;
    let inode = field(&mut rest).ok_or_else(|| bad(line, "inode"))?;
    let dash = range
        .iter()
        .position(|&b| b == b'-')
        .ok_or_else(|| bad(line, "range"))?;
    let path = match rest.iter().position(|&b| b != b' ') {
        Some(p) => &rest[p..],
        None => &[],
    };
    Ok(Vma {
        start: hex(line, &range[..dash], "start")?,
        end: hex(line, &range[dash + 1..], "end")?,
        perms: text(line, perms, "perms")?,
        offset: hex(line, offset, "offset")?,
        dev: text(line, dev, "dev")?,
        inode: std::str::from_utf8(inode)
            .ok()
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| bad(line, "inode"))?,
        path: OsString::from_vec(path.to_vec()),
    })
}

/// Parse the whole content of a maps file.
pub fn parse(content: impl AsRef<[u8]>) -> io::Result<Vec<Vma>> {
    content
        .as_ref()
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(parse_line)
        .collect()
}

fn proc_file(pid: Option<u32>, name: &str) -> String {
    match pid {
        Some(p) => format!("/proc/{p}/{name}"),
        None => format!("/proc/self/{name}"),
    }
}

/// Read and parse `/proc/PID/maps` (`None` for `/proc/self/maps`).
pub fn read(pid: Option<u32>) -> io::Result<Vec<Vma>> {
    parse(fs::read(proc_file(pid, "maps"))?)
}

/// The field lines of `smaps` content with the start address of the VMA
/// each belongs to: `(start, "Name:", value)`.
fn smaps_fields(smaps: &[u8]) -> impl Iterator<Item = (u64, &[u8], &[u8])> {
    let mut current = None;
    smaps.split(|&b| b == b'\n').filter_map(move |line| {
        let first = line.split(|&b| b == b' ').next().unwrap_or(&[]);
        if line.is_empty() {
            return None;
        }
        if !first.ends_with(b":") {
            // A VMA header ("start-end perms ...").
            current = parse_line(line).ok().map(|v| v.start);
            return None;
        }
        Some((current?, first, &line[first.len()..]))
    })
}

/// Start addresses of the VMAs whose `VmFlags` (in `smaps` content) include
/// `uw`, i.e. VMAs registered for userfaultfd write-protection: the only
/// memory where `PAGE_IS_WRITTEN` means "written since write-protected".
pub fn parse_uffd_wp_starts(smaps: &[u8]) -> Vec<u64> {
    smaps_fields(smaps)
        .filter(|(_, name, flags)| {
            *name == b"VmFlags:" && flags.split(|&b| b == b' ').any(|f| f == b"uw")
        })
        .map(|(start, _, _)| start)
        .collect()
}

/// The `VmFlags` mnemonics (`rd`, `wr`, `sd`, `uw`, ...) of the VMA
/// containing `addr`, from `smaps` content; `None` if no VMA contains it.
pub fn parse_vm_flags_at(smaps: &[u8], addr: u64) -> Option<Vec<String>> {
    let mut inside = false;
    for line in smaps.split(|&b| b == b'\n') {
        let first = line.split(|&b| b == b' ').next().unwrap_or(&[]);
        if line.is_empty() {
            continue;
        }
        if !first.ends_with(b":") {
            inside = parse_line(line).is_ok_and(|v| v.start <= addr && addr < v.end);
        } else if inside && first == b"VmFlags:" {
            return Some(
                line[first.len()..]
                    .split(|&b| b == b' ')
                    .filter(|f| !f.is_empty())
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            );
        }
    }
    None
}

/// [`parse_vm_flags_at`] of `/proc/PID/smaps` (`None` for our own).
pub fn vm_flags_at(pid: Option<u32>, addr: u64) -> io::Result<Option<Vec<String>>> {
    Ok(parse_vm_flags_at(&fs::read(proc_file(pid, "smaps"))?, addr))
}

/// What the CLI takes from smaps per VMA, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmapsKib {
    /// `Swap`: the pages really in swap (pte markers and migration
    /// entries are not).
    pub swap: u64,
    /// `Private_Dirty` + `Shared_Dirty`: what pmap -x shows as Dirty.
    pub dirty: u64,
}

/// [`SmapsKib`] of each VMA in `smaps` content, by start address.
pub fn parse_smaps_kib(smaps: &[u8]) -> std::collections::HashMap<u64, SmapsKib> {
    let mut out = std::collections::HashMap::<u64, SmapsKib>::new();
    for (start, name, v) in smaps_fields(smaps) {
        let k = match name {
            b"Swap:" | b"Private_Dirty:" | b"Shared_Dirty:" => out.entry(start).or_default(),
            _ => continue,
        };
        if name == b"Swap:" {
            k.swap += kib_value(v);
        } else {
            k.dirty += kib_value(v);
        }
    }
    out
}

/// [`parse_smaps_kib`] of `/proc/PID/smaps` (read once: smaps walks every
/// page table of the process).
pub fn smaps_kib(pid: Option<u32>) -> io::Result<std::collections::HashMap<u64, SmapsKib>> {
    Ok(parse_smaps_kib(&fs::read(proc_file(pid, "smaps"))?))
}

/// The number of an smaps field's value (`"   48 kB"`), 0 if none.
fn kib_value(v: &[u8]) -> u64 {
    std::str::from_utf8(v)
        .ok()
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Whether the process has a userfaultfd open (`anon_inode:[userfaultfd]`
/// among `/proc/PID/fd`). Closing the last reference to a userfaultfd
/// unregisters its VMAs, so without one no VMA can be uffd-wp registered,
/// unless the descriptor lives only in another process (a monitor it was
/// passed to). `None` if the directory cannot be read.
pub fn has_userfaultfd(pid: Option<u32>) -> Option<bool> {
    let dir = fs::read_dir(proc_file(pid, "fd")).ok()?;
    Some(dir.flatten().any(|e| {
        fs::read_link(e.path())
            .is_ok_and(|l| l.as_os_str().as_bytes() == b"anon_inode:[userfaultfd]")
    }))
}

/// Start addresses of the VMAs of the process registered for userfaultfd
/// write-protection (`uw` in `/proc/PID/smaps` `VmFlags`). `smaps` is only
/// read when the process has a userfaultfd open (see [`has_userfaultfd`]),
/// since reading it walks all page tables.
pub fn uffd_wp_starts(pid: Option<u32>) -> io::Result<Vec<u64>> {
    if has_userfaultfd(pid) == Some(false) {
        return Ok(Vec::new());
    }
    Ok(parse_uffd_wp_starts(&fs::read(proc_file(pid, "smaps"))?))
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
        assert_eq!(v[2].name(), "[anon]");
        assert_eq!(v[1].name(), "[heap]");
        assert_eq!(v[2].path, "");
        assert_eq!(v[2].name(), "[anon]");
        assert_eq!(v[3].offset, 0x1000);
        assert_eq!(v[3].path, "/memfd:my file (deleted)");
        assert!(v[4].is_kernel_gate());
        assert!(!v[1].is_kernel_gate());
    }

    #[test]
    fn non_utf8_path() {
        let v = parse_line(b"1000-2000 r--p 00000000 08:01 12 /tmp/a\xff b\n").unwrap();
        assert_eq!(v.path.as_bytes(), b"/tmp/a\xff b");
        assert_eq!(v.end, 0x2000);
    }

    #[test]
    fn smaps_swap_and_dirty() {
        let smaps = b"\
7f0000000000-7f0000010000 rw-p 00000000 00:00 0 
Rss:                  16 kB
Shared_Dirty:          4 kB
Private_Dirty:         8 kB
Swap:                 48 kB
SwapPss:              48 kB
7f0000020000-7f0000021000 rw-p 00000000 00:00 0                          [stack]
Swap:                  0 kB
";
        let m = parse_smaps_kib(smaps);
        let k = |swap, dirty| Some(SmapsKib { swap, dirty });
        assert_eq!(m.get(&0x7f0000000000).copied(), k(48, 12));
        assert_eq!(m.get(&0x7f0000020000).copied(), k(0, 0));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn smaps_uffd_wp() {
        let smaps = b"\
1000-2000 rw-p 00000000 00:00 0 
Rss:                   4 kB
AnonHugePages:         0 kB
VmFlags: rd wr mr mw me ac uw 
3000-4000 rw-p 00000000 00:00 0 
Rss:                   0 kB
VmFlags: rd wr mr mw me ac 
";
        assert_eq!(parse_uffd_wp_starts(smaps), vec![0x1000]);
        let flags = parse_vm_flags_at(smaps, 0x1fff).unwrap();
        assert_eq!(flags, ["rd", "wr", "mr", "mw", "me", "ac", "uw"]);
        assert!(parse_vm_flags_at(smaps, 0x2000).is_none());
        assert!(parse_vm_flags_at(smaps, 0x3000).is_some());
        let m = crate::mem::Mapping::anon(1).unwrap();
        let own = vm_flags_at(None, m.addr()).unwrap().unwrap();
        assert!(own.iter().any(|f| f == "rd") && own.iter().any(|f| f == "wr"));
        assert!(uffd_wp_starts(None).unwrap().is_empty());
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
