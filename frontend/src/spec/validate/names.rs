//! Names and small values: what is valid, and valid names close to an
//! invalid one, for hints.

/// Up to ten names for a message, then how many there are in all.
pub fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let head = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        format!("{head}, … ({} in all)", names.len())
    } else {
        head
    }
}

/// `text` in the characters of stage names: lowercase, any other
/// character as `-`.
pub fn in_name_characters(text: &str) -> String {
    text.chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A valid stage name close to `name` (`Build` → `build`), for hints.
pub fn stage_name_like(name: &str) -> String {
    let mapped = in_name_characters(name);
    let trimmed = mapped.trim_start_matches(['.', '_', '-']);
    if trimmed.is_empty() {
        "build".to_string()
    } else {
        trimmed.to_string()
    }
}

/// A valid identifier close to `name` (`API-TOKEN` → `API_TOKEN`).
pub fn identifier_like(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if mapped.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{mapped}")
    } else {
        mapped
    }
}

pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub fn is_stage_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// `8080`, `8080/tcp`, `53/udp` → (port, protocol).
pub fn parse_port(text: &str) -> Option<(u16, &str)> {
    let (number, proto) = text.split_once('/').unwrap_or((text, "tcp"));
    let port: u16 = number.parse().ok().filter(|p| *p > 0)?;
    matches!(proto, "tcp" | "udp" | "sctp").then_some((port, proto))
}

/// `30s`, `1m30s`, `500ms`, `1h` → nanoseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let scale: u64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(number.checked_mul(scale)?)?;
    }
    Some(total)
}

/// `1024`, `64k`, `64m`, `1g` (also `64mb`, `1GiB`) → bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t.bytes().take_while(|b| b.is_ascii_digit()).count();
    let number: u64 = t[..digits].parse().ok()?;
    let scale: u64 = match t[digits..].trim_end_matches("ib").trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_sizes_ports() {
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_port("53/udp"), Some((53, "udp")));
        assert_eq!(parse_port("8080"), Some((8080, "tcp")));
        assert_eq!(parse_port("0"), None);
        assert_eq!(parse_port("80/http"), None);
    }
}
