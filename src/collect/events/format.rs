//! Parser for a tracepoint's `format` file (tracefs `events/<group>/<name>/format`):
//! the event id, each field's offset, size and signedness, and the symbol
//! tables of the `print fmt` line (`__print_symbolic(REC->reason, { 1, "NO_SOCKET" }, …)`).
//!
//! Owns: `TraceFormat`, `FieldSpec`, `FormatError`. Must not: do I/O; it
//! parses text handed to it, so record decoders never hard-code an offset.

use std::collections::HashMap;

/// One field of a tracepoint record, as the format file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: String,
    /// The C type as written, e.g. `const void *` or `__u8` (array suffix removed).
    pub c_type: String,
    pub offset: usize,
    pub size: usize,
    pub signed: bool,
    /// `Some(n)` for `name[n]` arrays.
    pub array_len: Option<usize>,
}

impl FieldSpec {
    /// The end of the field in the raw record.
    pub fn end(&self) -> usize {
        self.offset.saturating_add(self.size)
    }
}

/// A parsed `format` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceFormat {
    pub name: String,
    pub id: u32,
    pub fields: Vec<FieldSpec>,
    pub print_fmt: String,
}

/// What is wrong with a format file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("format file has no {0} line")]
    Missing(&'static str),
    #[error("format file line {line}: {reason}")]
    BadLine { line: usize, reason: String },
}

impl TraceFormat {
    /// Parses the text of a `format` file.
    pub fn parse(text: &str) -> Result<TraceFormat, FormatError> {
        let mut name = None;
        let mut id = None;
        let mut fields = Vec::new();
        let mut print_fmt = None;
        for (index, raw_line) in text.lines().enumerate() {
            let line = raw_line.trim();
            if let Some(rest) = line.strip_prefix("name:") {
                name = Some(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("ID:") {
                let parsed = rest
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| FormatError::BadLine {
                        line: index + 1,
                        reason: format!("ID '{}' is not a number", rest.trim()),
                    })?;
                id = Some(parsed);
            } else if line.starts_with("field:") {
                fields.push(parse_field(line).map_err(|reason| FormatError::BadLine {
                    line: index + 1,
                    reason,
                })?);
            } else if let Some(rest) = line.strip_prefix("print fmt:") {
                print_fmt = Some(rest.trim().to_string());
            }
        }
        Ok(TraceFormat {
            name: name.ok_or(FormatError::Missing("name:"))?,
            id: id.ok_or(FormatError::Missing("ID:"))?,
            fields,
            print_fmt: print_fmt.unwrap_or_default(),
        })
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The numeric symbol table that `print fmt` gives for `REC-><field>`,
    /// e.g. 3 → "NO_SOCKET" for `skb:kfree_skb`'s reason. Entries whose value
    /// is a C name rather than a number (tcp_send_reset's `TCP_ESTABLISHED`)
    /// are left out. Empty when the field has no `__print_symbolic`.
    pub fn symbols(&self, field: &str) -> HashMap<u64, String> {
        symbols_in(&self.print_fmt, field)
    }
}

/// `field:const void * skaddr; offset:8; size:8; signed:0;`
fn parse_field(line: &str) -> Result<FieldSpec, String> {
    let mut declaration = None;
    let mut offset = None;
    let mut size = None;
    let mut signed = None;
    for part in line.split(';') {
        let part = part.trim();
        if let Some(rest) = part.strip_prefix("field:") {
            declaration = Some(rest.trim());
        } else if let Some(rest) = part.strip_prefix("offset:") {
            offset = rest.trim().parse::<usize>().ok();
        } else if let Some(rest) = part.strip_prefix("size:") {
            size = rest.trim().parse::<usize>().ok();
        } else if let Some(rest) = part.strip_prefix("signed:") {
            signed = rest.trim().parse::<u8>().ok();
        }
    }
    let declaration = declaration.ok_or("no field declaration")?;
    let offset = offset.ok_or("no numeric offset")?;
    let size = size.ok_or("no numeric size")?;
    let (c_type, name, array_len) = split_declaration(declaration)?;
    Ok(FieldSpec {
        name,
        c_type,
        offset,
        size,
        signed: signed.unwrap_or(0) != 0,
        array_len,
    })
}

/// `const void * skaddr` → (`const void *`, `skaddr`, None);
/// `__u8 saddr[28]` → (`__u8`, `saddr`, Some(28)).
fn split_declaration(declaration: &str) -> Result<(String, String, Option<usize>), String> {
    let (mut name_part, array_len) = match declaration.find('[') {
        Some(open) => {
            let close = declaration[open..]
                .find(']')
                .map(|i| open + i)
                .ok_or_else(|| format!("unclosed '[' in '{declaration}'"))?;
            let len = declaration[open + 1..close].trim().parse::<usize>().ok();
            (&declaration[..open], len)
        }
        None => (declaration, None),
    };
    name_part = name_part.trim_end();
    let split_at = name_part
        .rfind(|c: char| c.is_whitespace() || c == '*')
        .ok_or_else(|| format!("no type before the name in '{declaration}'"))?;
    let name = name_part[split_at + 1..].trim().to_string();
    let c_type = name_part[..=split_at].trim().to_string();
    if name.is_empty() {
        return Err(format!("no field name in '{declaration}'"));
    }
    Ok((c_type, name, array_len))
}

/// Finds `__print_symbolic(REC-><field>, { N, "NAME" }, …)` and reads its pairs.
fn symbols_in(print_fmt: &str, field: &str) -> HashMap<u64, String> {
    let mut table = HashMap::new();
    let needle = format!("__print_symbolic(REC->{field},");
    let Some(start) = print_fmt.find(&needle) else {
        return table;
    };
    let body = &print_fmt[start + needle.len()..];
    // The table ends at the parenthesis closing __print_symbolic(, the
    // first ')' outside a string.
    let mut rest = body;
    loop {
        let trimmed = rest.trim_start_matches([' ', ',', '\t']);
        let Some(entry) = trimmed.strip_prefix('{') else {
            break;
        };
        let Some(close) = entry.find('}') else {
            break;
        };
        let pair = &entry[..close];
        if let Some((value, name)) = pair.split_once(',') {
            let name = name.trim().trim_matches('"');
            if let Some(number) = parse_number(value.trim()) {
                table.insert(number, name.to_string());
            }
        }
        rest = &entry[close + 1..];
    }
    table
}

fn parse_number(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else {
        text.parse::<u64>().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET_STATE: &str =
        include_str!("../../../tests/fixtures/tracepoints/format/sock_inet_sock_set_state.format");
    const SEND_RESET: &str =
        include_str!("../../../tests/fixtures/tracepoints/format/tcp_tcp_send_reset.format");
    const KFREE_SKB: &str =
        include_str!("../../../tests/fixtures/tracepoints/format/skb_kfree_skb.format");

    #[test]
    fn reads_id_fields_and_offsets_of_inet_sock_set_state() {
        let format = TraceFormat::parse(SET_STATE).unwrap();
        assert_eq!(format.name, "inet_sock_set_state");
        assert_eq!(format.id, 2287);
        let skaddr = format.field("skaddr").unwrap();
        assert_eq!((skaddr.offset, skaddr.size, skaddr.signed), (8, 8, false));
        assert_eq!(skaddr.c_type, "const void *");
        let oldstate = format.field("oldstate").unwrap();
        assert_eq!(
            (oldstate.offset, oldstate.size, oldstate.signed),
            (16, 4, true)
        );
        let daddr_v6 = format.field("daddr_v6").unwrap();
        assert_eq!((daddr_v6.offset, daddr_v6.size), (56, 16));
        assert_eq!(daddr_v6.array_len, Some(16));
        assert_eq!(format.field("common_type").unwrap().size, 2);
    }

    #[test]
    fn reads_symbol_tables_from_print_fmt() {
        let format = TraceFormat::parse(SET_STATE).unwrap();
        let states = format.symbols("newstate");
        assert_eq!(states.get(&2).map(String::as_str), Some("TCP_SYN_SENT"));
        assert_eq!(
            states.get(&12).map(String::as_str),
            Some("TCP_NEW_SYN_RECV")
        );
        let reset = TraceFormat::parse(SEND_RESET).unwrap();
        let reasons = reset.symbols("reason");
        assert_eq!(reasons.get(&1).map(String::as_str), Some("NO_SOCKET"));
        assert_eq!(reasons.get(&14).map(String::as_str), Some("TCP_STATE"));
        // The state table uses C names, not numbers: nothing to read.
        assert!(reset.symbols("state").is_empty());
        let drops = TraceFormat::parse(KFREE_SKB).unwrap().symbols("reason");
        assert_eq!(
            drops.get(&40).map(String::as_str),
            Some("TCP_LISTEN_OVERFLOW")
        );
        assert_eq!(drops.get(&3).map(String::as_str), Some("NO_SOCKET"));
    }

    #[test]
    fn rejects_files_without_an_id_and_bad_fields() {
        assert_eq!(
            TraceFormat::parse("name: x\nformat:\n"),
            Err(FormatError::Missing("ID:"))
        );
        assert!(matches!(
            TraceFormat::parse("name: x\nID: 1\n\tfield:int a;\toffset:z;\tsize:4;\tsigned:1;\n"),
            Err(FormatError::BadLine { line: 3, .. })
        ));
        assert!(matches!(
            TraceFormat::parse("name: x\nID: 1\n\tfield:a[;\toffset:0;\tsize:4;\tsigned:1;\n"),
            Err(FormatError::BadLine { .. })
        ));
    }

    #[test]
    fn unknown_symbol_fields_give_an_empty_table() {
        let format = TraceFormat::parse(SET_STATE).unwrap();
        assert!(format.symbols("nonexistent").is_empty());
        assert!(symbols_in("__print_symbolic(REC->x, { 1, \"A\" ", "x").len() <= 1);
    }
}
