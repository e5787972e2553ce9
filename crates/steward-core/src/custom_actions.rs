//! Custom actions: the rules of Esper's `/v2/custom-actions/` bodies. A custom action names a
//! UI control with options; each option carries the Linux script to run and its interpreter.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{FieldErrors, Invalid};

pub const TYPES: [&str; 4] = ["button", "toggle", "radio", "dropdown"];
pub const STATES: [&str; 3] = ["draft", "active", "inactive"];
pub const BLUEPRINT_POSITIONS: [&str; 13] = [
    "none",
    "blueprints_apps_and_configuration",
    "blueprints_connectivity",
    "blueprints_device_security",
    "blueprints_display_and_branding",
    "blueprints_esper_settings",
    "blueprints_scripts",
    "blueprints_files",
    "blueprints_platform_services",
    "blueprints_hardware_settings",
    "blueprints_sound",
    "blueprints_system_updates",
    "blueprints_time_and_date",
];
pub const DEVICE_SETTINGS_POSITIONS: [&str; 2] = ["none", "device_quick_settings"];
/// Interpreters the agent knows how to start.
pub const INTERPRETERS: [&str; 6] = ["bash", "sh", "python", "python3", "powershell", "pwsh"];
/// Most options per action, and longest script in bytes.
pub const MAX_OPTIONS: usize = 50;
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;

/// One option of an action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOption {
    pub label: String,
    pub key: Uuid,
    pub script: String,
    pub interpreter: String,
}

impl ActionOption {
    /// The wire form: `{label, key, scripts: {linux: {script, interpreter}}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "label": self.label,
            "key": self.key,
            "scripts": {"linux": {"script": self.script, "interpreter": self.interpreter}},
        })
    }

    pub fn from_json(value: &Value) -> Option<Self> {
        let linux = value.get("scripts")?.get("linux")?;
        Some(Self {
            label: value.get("label")?.as_str()?.to_string(),
            key: value.get("key")?.as_str()?.parse().ok()?,
            script: linux.get("script")?.as_str()?.to_string(),
            interpreter: linux.get("interpreter")?.as_str()?.to_string(),
        })
    }
}

/// A checked custom action body.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomActionSpec {
    pub name: String,
    pub action_type: String,
    pub state: String,
    pub position_in_blueprints: String,
    pub position_in_device_settings: String,
    pub properties: Map<String, Value>,
    pub options: Vec<ActionOption>,
}

fn one_of(
    e: &mut FieldErrors,
    field: &str,
    value: Option<&Value>,
    allowed: &[&str],
) -> Option<String> {
    match value {
        None | Some(Value::Null) => {
            e.add(field, "this field is required");
            None
        }
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Some(s.clone()),
        Some(other) => {
            e.add(
                field,
                format!("{other} is not one of {}", allowed.join(", ")),
            );
            None
        }
    }
}

fn option(e: &mut FieldErrors, i: usize, value: &Value) -> Option<ActionOption> {
    let at = |f: &str| format!("options[{i}].{f}");
    let Some(obj) = value.as_object() else {
        e.add(format!("options[{i}]"), "must be an object");
        return None;
    };
    let label = match obj.get("label").and_then(Value::as_str) {
        Some(l) if !l.trim().is_empty() && l.chars().count() <= 255 => Some(l.to_string()),
        _ => {
            e.add(at("label"), "must be a text of 1 to 255 characters");
            None
        }
    };
    let key = match obj.get("key").and_then(Value::as_str).map(Uuid::parse_str) {
        Some(Ok(k)) => Some(k),
        _ => {
            e.add(at("key"), "must be an id (UUID)");
            None
        }
    };
    let linux = obj
        .get("scripts")
        .and_then(|s| s.get("linux"))
        .and_then(Value::as_object);
    let Some(linux) = linux else {
        e.add(
            at("scripts.linux"),
            "is required (an object with script and interpreter)",
        );
        return None;
    };
    let script = match linux.get("script").and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() && s.len() <= MAX_SCRIPT_BYTES => Some(s.to_string()),
        _ => {
            e.add(
                at("scripts.linux.script"),
                format!("must be a script of 1 to {MAX_SCRIPT_BYTES} bytes"),
            );
            None
        }
    };
    let interpreter = match linux.get("interpreter") {
        None | Some(Value::Null) => Some("bash".to_string()),
        Some(Value::String(s)) if INTERPRETERS.contains(&s.as_str()) => Some(s.clone()),
        Some(other) => {
            e.add(
                at("scripts.linux.interpreter"),
                format!("{other} is not one of {}", INTERPRETERS.join(", ")),
            );
            None
        }
    };
    Some(ActionOption {
        label: label?,
        key: key?,
        script: script?,
        interpreter: interpreter?,
    })
}

impl CustomActionSpec {
    /// Checks a whole body (create, PUT). With `base`, absent fields keep `base`'s values
    /// (PATCH).
    pub fn parse(
        body: &Map<String, Value>,
        base: Option<&CustomActionSpec>,
    ) -> Result<Self, Invalid> {
        let mut merged = base.map(CustomActionSpec::to_map).unwrap_or_default();
        for (k, v) in body {
            merged.insert(k.clone(), v.clone());
        }
        let mut e = FieldErrors::new();
        let name = match merged.get("name").and_then(Value::as_str) {
            Some(n) if !n.trim().is_empty() && n.chars().count() <= 50 => Some(n.to_string()),
            _ => {
                e.add("name", "must be a text of 1 to 50 characters");
                None
            }
        };
        let action_type = one_of(&mut e, "type", merged.get("type"), &TYPES);
        let state = one_of(&mut e, "state", merged.get("state"), &STATES);
        let blueprints = one_of(
            &mut e,
            "position_in_blueprints",
            merged.get("position_in_blueprints"),
            &BLUEPRINT_POSITIONS,
        );
        let device_settings = one_of(
            &mut e,
            "position_in_device_settings",
            merged.get("position_in_device_settings"),
            &DEVICE_SETTINGS_POSITIONS,
        );
        let properties = match merged.get("properties") {
            Some(Value::Object(p)) => p.clone(),
            _ => {
                e.add(
                    "properties",
                    "must be an object (description, info_message, tooltip_message)",
                );
                Map::new()
            }
        };
        let mut options = Vec::new();
        match merged.get("options") {
            Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_OPTIONS => {
                for (i, item) in list.iter().enumerate() {
                    if let Some(o) = option(&mut e, i, item) {
                        if options.iter().any(|p: &ActionOption| p.key == o.key) {
                            e.add(format!("options[{i}].key"), "is used by another option");
                        }
                        options.push(o);
                    }
                }
            }
            _ => e.add("options", format!("must list 1 to {MAX_OPTIONS} options")),
        }
        e.finish()?;
        match (name, action_type, state, blueprints, device_settings) {
            (Some(name), Some(action_type), Some(state), Some(b), Some(d)) => Ok(Self {
                name,
                action_type,
                state,
                position_in_blueprints: b,
                position_in_device_settings: d,
                properties,
                options,
            }),
            _ => Err(Invalid::field("name", "is required")),
        }
    }

    /// The body this spec was read from (for merging a PATCH).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.action_type));
        m.insert("state".into(), json!(self.state));
        m.insert(
            "position_in_blueprints".into(),
            json!(self.position_in_blueprints),
        );
        m.insert(
            "position_in_device_settings".into(),
            json!(self.position_in_device_settings),
        );
        m.insert("properties".into(), Value::Object(self.properties.clone()));
        m.insert(
            "options".into(),
            Value::Array(self.options.iter().map(ActionOption::to_json).collect()),
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Map<String, Value> {
        json!({
            "name": "Restart kiosk", "type": "button", "state": "active",
            "position_in_blueprints": "none", "position_in_device_settings": "device_quick_settings",
            "properties": {"description": "Restarts the kiosk browser"},
            "options": [{"label": "Now", "key": "4adfe27e-63d3-45b9-8238-62b6ed6fdb5e",
                         "scripts": {"linux": {"script": "systemctl restart kiosk"}}}]
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn a_good_body_reads_with_defaults() {
        let spec = CustomActionSpec::parse(&body(), None).unwrap();
        assert_eq!(spec.options[0].interpreter, "bash");
        let again = CustomActionSpec::parse(&spec.to_map(), None).unwrap();
        assert_eq!(again, spec);
    }

    #[test]
    fn bad_fields_are_named_and_patches_merge() {
        let mut b = body();
        b.insert("type".into(), json!("slider"));
        b.insert("name".into(), json!(""));
        b.insert(
            "options".into(),
            json!([{"label": "x", "key": "nope", "scripts": {"linux": {"script": "true", "interpreter": "perl"}}}]),
        );
        let err = CustomActionSpec::parse(&b, None).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|(f, _)| f.as_str()).collect();
        for f in [
            "name",
            "type",
            "options[0].key",
            "options[0].scripts.linux.interpreter",
        ] {
            assert!(fields.contains(&f), "{f}: {err}");
        }
        let base = CustomActionSpec::parse(&body(), None).unwrap();
        let patched = CustomActionSpec::parse(
            json!({"state": "inactive"}).as_object().unwrap(),
            Some(&base),
        )
        .unwrap();
        assert_eq!(patched.state, "inactive");
        assert_eq!(patched.name, base.name);
        let dup = json!({"options": [base.options[0].to_json(), base.options[0].to_json()]});
        assert!(CustomActionSpec::parse(dup.as_object().unwrap(), Some(&base)).is_err());
    }
}
