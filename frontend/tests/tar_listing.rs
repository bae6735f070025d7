//! A tar stream (`docker export`) as one line per entry: type, permission
//! bits, owner, and the content's SHA-256 or the link target. Times are
//! left out: two builds of the same image differ in them.

#![allow(dead_code)] // used by e2e_convert only

use std::collections::BTreeMap;
use std::io::Read;

use sha2::{Digest, Sha256};

/// path (no leading `./`, no trailing `/`) → description.
pub fn entries(mut tar: impl Read) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pax: BTreeMap<String, String> = BTreeMap::new();
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut header = [0u8; 512];
    loop {
        if tar.read_exact(&mut header).is_err() || header.iter().all(|b| *b == 0) {
            break;
        }
        let size = number(&header[124..136]);
        let mut data = vec![0u8; size as usize];
        tar.read_exact(&mut data).expect("a whole entry");
        let padding = (512 - size % 512) % 512;
        std::io::copy(&mut (&mut tar).take(padding), &mut std::io::sink()).expect("padding");
        let kind = header[156];
        match kind {
            b'x' => {
                pax = pax_records(&data);
                continue;
            }
            b'g' => continue,
            b'L' => {
                long_name = Some(text(&data));
                continue;
            }
            b'K' => {
                long_link = Some(text(&data));
                continue;
            }
            _ => {}
        }
        let prefix = text(&header[345..500]);
        let name = text(&header[0..100]);
        let mut path = pax.remove("path").or(long_name.take()).unwrap_or_else(|| {
            if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            }
        });
        let link = pax
            .remove("linkpath")
            .or(long_link.take())
            .unwrap_or_else(|| text(&header[157..257]));
        let uid = pax
            .remove("uid")
            .and_then(|v| v.parse().ok())
            .unwrap_or(number(&header[108..116]));
        let gid = pax
            .remove("gid")
            .and_then(|v| v.parse().ok())
            .unwrap_or(number(&header[116..124]));
        pax.clear();
        path = path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if path.is_empty() {
            continue;
        }
        let mode = number(&header[100..108]) & 0o7777;
        let what = match kind {
            b'0' | 0 | b'7' => format!("file sha256:{}", hex::encode(Sha256::digest(&data))),
            b'1' => format!("hardlink {link}"),
            b'2' => format!("symlink {link}"),
            b'3' => "char device".to_string(),
            b'4' => "block device".to_string(),
            b'5' => "dir".to_string(),
            b'6' => "fifo".to_string(),
            other => format!("type {}", other as char),
        };
        out.insert(path, format!("{what} mode {mode:04o} owner {uid}:{gid}"));
    }
    out
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Octal, or base-256 when the first byte's high bit is set.
fn number(field: &[u8]) -> u64 {
    if field[0] & 0x80 != 0 {
        return field[1..]
            .iter()
            .fold(u64::from(field[0] & 0x7f), |n, b| (n << 8) | u64::from(*b));
    }
    let digits: String = text(field)
        .trim()
        .chars()
        .filter(|c| c.is_digit(8))
        .collect();
    u64::from_str_radix(&digits, 8).unwrap_or(0)
}

/// PAX records: `LEN key=value\n`.
fn pax_records(data: &[u8]) -> BTreeMap<String, String> {
    let mut records = BTreeMap::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(space) = rest.iter().position(|b| *b == b' ') else {
            break;
        };
        let Ok(len) = String::from_utf8_lossy(&rest[..space]).parse::<usize>() else {
            break;
        };
        if len <= space || len > rest.len() {
            break;
        }
        let record = String::from_utf8_lossy(&rest[space + 1..len])
            .trim_end_matches('\n')
            .to_string();
        if let Some((k, v)) = record.split_once('=') {
            records.insert(k.to_string(), v.to_string());
        }
        rest = &rest[len..];
    }
    records
}
