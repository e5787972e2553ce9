//! Python literal text for JSON values. espercli reads some fields (DeviceStatus.data,
//! GroupCommand.details) with `ast.literal_eval`, which takes Python literals, not JSON:
//! `True`/`False`/`None` instead of `true`/`false`/`null`.

use serde_json::Value;

/// Renders `value` as a Python literal (`{'a': 1, 'b': [True, None]}`).
pub fn to_python_literal(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// A single-quoted Python string with backslash escapes.
fn write_str(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals() {
        let v = json!({"a": [1, 2.5, true, false, null], "b": "it's\n\"x\"\\"});
        assert_eq!(
            to_python_literal(&v),
            r#"{'a': [1, 2.5, True, False, None], 'b': 'it\'s\n"x"\\'}"#
        );
        assert_eq!(to_python_literal(&json!("\u{1}")), r"'\x01'");
    }
}
