// SPDX-License-Identifier: GPL-2.0
//! Human sizes and JSON strings.

/// `bytes` as a short human size: `4K`, `1.5M`, `2G`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if (v - v.round()).abs() < 0.05 {
        format!("{}{}", v.round() as u64, UNITS[i])
    } else {
        format!("{v:.1}{}", UNITS[i])
    }
}

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An address as a JSON string `"0x..."`.
pub fn json_addr(a: u64) -> String {
    format!("\"{a:#x}\"")
}

/// Category names as a JSON array.
pub fn json_categories(categories: u64) -> String {
    let names: Vec<String> = pagemap_scan::abi::CATEGORY_NAMES
        .iter()
        .filter(|(bit, _)| categories & bit != 0)
        .map(|(_, n)| json_str(n))
        .collect();
    format!("[{}]", names.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(4096), "4K");
        assert_eq!(human(1536 * 1024), "1.5M");
        assert_eq!(human(2 << 30), "2G");
        assert_eq!(human(100), "100B");
        assert_eq!(human(1024 * 1024 - 4096), "1020K");
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(json_addr(0x1000), "\"0x1000\"");
        assert_eq!(json_categories(0b1010), "[\"written\",\"present\"]");
        assert_eq!(json_categories(0), "[]");
    }
}
