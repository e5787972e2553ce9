//! Field validation that collects every problem of a request, each naming its field.

use std::fmt;

/// Problems found in one request; empty when the request is valid.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    errors: Vec<(String, String)>,
}

/// A request that failed validation: `field: problem` pairs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid(pub Vec<(String, String)>);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        write!(f, "{}", parts.join("; "))
    }
}

impl Invalid {
    /// One problem with one field.
    pub fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Invalid(vec![(field.into(), problem.into())])
    }
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.errors.push((field.into(), problem.into()));
    }

    /// A required text: present, not blank, at most `max` characters.
    pub fn required_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        match value {
            None => self.add(field, "this field is required"),
            Some(v) => self.text(field, v, 1, max),
        }
    }

    /// An optional text: when present, between `min` and `max` characters.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, min: usize, max: usize) {
        if let Some(v) = value {
            self.text(field, v, min, max);
        }
    }

    fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let len = value.chars().count();
        if min > 0 && value.trim().is_empty() {
            self.add(field, "may not be blank");
        } else if len < min {
            self.add(field, format!("must have at least {min} characters"));
        } else if len > max {
            self.add(
                field,
                format!("must have at most {max} characters (got {len})"),
            );
        } else if value.chars().any(|c| c.is_control()) {
            self.add(field, "may not contain control characters");
        }
    }

    /// An optional e-mail address of at most `max` characters.
    pub fn optional_email(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            let before = self.errors.len();
            self.text(field, v, 1, max);
            if self.errors.len() == before && !looks_like_email(v) {
                self.add(field, "must be a valid e-mail address");
            }
        }
    }

    /// Adds every problem of an earlier check.
    pub fn extend(&mut self, other: Invalid) {
        for (field, problem) in other.0 {
            self.add(field, problem);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when nothing was found, otherwise every problem.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.errors))
        }
    }
}

/// A plain check: one `@`, something before it, a dot in a domain after it, no spaces.
fn looks_like_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !v.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem_with_its_field() {
        let mut e = FieldErrors::new();
        e.required_text("name", None, 10);
        e.optional_text("zipcode", Some("123456789"), 1, 8);
        e.optional_email("contact_email", Some("nobody"), 254);
        e.optional_text("location", Some("fine"), 1, 255);
        let err = e.finish().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["name", "zipcode", "contact_email"]);
        assert!(
            err.to_string()
                .contains("zipcode: must have at most 8 characters")
        );
    }

    #[test]
    fn blank_and_control_characters_are_refused() {
        let mut e = FieldErrors::new();
        e.required_text("name", Some("   "), 10);
        e.required_text("alias", Some("a\u{0}b"), 10);
        assert_eq!(e.finish().unwrap_err().0.len(), 2);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let mut e = FieldErrors::new();
        e.required_text("name", Some("ÄÖÜ"), 3);
        assert!(e.is_empty());
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("ops@example.com"));
        for bad in ["@x.com", "a@b", "a@@b.com", "a b@c.com", "a@.com"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
