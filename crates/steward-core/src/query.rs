//! Query-string values as Esper's clients send them.

/// Parses a query boolean: `true/false`, `True/False` (Python's urllib), `1/0`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" | "True" | "TRUE" | "1" => Some(true),
        "false" | "False" | "FALSE" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_in_every_spelling() {
        for t in ["true", "True", "1"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["false", "False", "0"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        for bad in ["", "yes", "2", "tru"] {
            assert_eq!(parse_bool(bad), None);
        }
    }
}
