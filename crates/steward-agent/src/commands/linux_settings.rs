//! Device settings that Linux has an equivalent for, carried out without a hook.
//!
//! Through the kernel's own files, under the executor's root (so tests use a fixture tree):
//! screen brightness (`/sys/class/backlight/*/brightness`) and the Bluetooth and Wi-Fi radios
//! (`/sys/class/rfkill/*/soft`). Through the usual desktop tools, where a graphical session or
//! the tool exists: the screen lock (`loginctl lock-sessions`), the output volume (`amixer`),
//! the screen-off timeout (`xset`), the screen rotation (`xrandr`), a beep (`beep`) and a static
//! address (NetworkManager's `nmcli`). Where neither exists the command fails with a reason that
//! names what is missing.

use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tokio::process::Command;
use tokio::time::Instant;

use super::Outcome;
use super::process::{self, tail_text};

/// The devices of a sysfs class (`backlight`, `rfkill`) under `root`, in name order.
fn class_devices(root: &Path, class: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join("sys/class").join(class)) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    found.sort();
    found
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn int_arg(args: &Map<String, Value>, name: &str) -> Option<i64> {
    match args.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bool_arg(args: &Map<String, Value>, name: &str) -> Option<bool> {
    match args.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" => Some(true),
            "false" | "0" | "off" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// SET_BRIGHTNESS_SCALE: `brightness_value` 1–100 as a share of each backlight's maximum.
pub fn set_brightness(root: &Path, args: &Map<String, Value>) -> Outcome {
    let Some(percent) = int_arg(args, "brightness_value").filter(|v| (1..=100).contains(v)) else {
        return Outcome::failure("brightness_value must be a whole number from 1 to 100");
    };
    let backlights = class_devices(root, "backlight");
    if backlights.is_empty() {
        return Outcome::failure("this device has no backlight (nothing in /sys/class/backlight)");
    }
    let mut set = Vec::new();
    for device in &backlights {
        let Some(max) = read_number(&device.join("max_brightness")).filter(|m| *m > 0) else {
            continue;
        };
        // Never 0: on many panels that turns the screen off, which 1 % does not mean.
        let level = (max * percent.unsigned_abs()).div_ceil(100).clamp(1, max);
        if let Err(e) = std::fs::write(device.join("brightness"), format!("{level}\n")) {
            return Outcome::failure(format!(
                "cannot set the brightness of {}: {e}",
                name(device)
            ));
        }
        set.push(Value::from(name(device)));
    }
    if set.is_empty() {
        return Outcome::failure("no backlight of this device reports its max_brightness");
    }
    let mut details = Map::new();
    details.insert("backlights".into(), Value::Array(set));
    details.insert("brightness_percent".into(), percent.into());
    Outcome::success(format!("brightness set to {percent} %")).with_details(details)
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A radio the kernel can switch through rfkill.
#[derive(Debug, Clone, Copy)]
pub enum Radio {
    Bluetooth,
    Wifi,
}

impl Radio {
    fn rfkill_type(self) -> &'static str {
        match self {
            Self::Bluetooth => "bluetooth",
            Self::Wifi => "wlan",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Self::Bluetooth => "bluetooth_state",
            Self::Wifi => "wifi_state",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Bluetooth => "Bluetooth",
            Self::Wifi => "Wi-Fi",
        }
    }
}

/// SET_BLUETOOTH_STATE and SET_WIFI_STATE: every rfkill switch of that radio soft-blocked
/// (off) or unblocked (on). A hard block (a physical switch) is reported, not overridden.
pub fn set_radio(root: &Path, radio: Radio, args: &Map<String, Value>) -> Outcome {
    let Some(on) = bool_arg(args, radio.arg()) else {
        return Outcome::failure(format!("{} must be true or false", radio.arg()));
    };
    let switches: Vec<PathBuf> = class_devices(root, "rfkill")
        .into_iter()
        .filter(|d| {
            std::fs::read_to_string(d.join("type")).is_ok_and(|t| t.trim() == radio.rfkill_type())
        })
        .collect();
    if switches.is_empty() {
        return Outcome::failure(format!(
            "this device has no {} radio (no rfkill switch of type {})",
            radio.label(),
            radio.rfkill_type()
        ));
    }
    let mut hard_blocked = Vec::new();
    for switch in &switches {
        let soft = if on { "0\n" } else { "1\n" };
        if let Err(e) = std::fs::write(switch.join("soft"), soft) {
            return Outcome::failure(format!(
                "cannot switch {} {}: {e}",
                radio.label(),
                if on { "on" } else { "off" }
            ));
        }
        if on && read_number(&switch.join("hard")) == Some(1) {
            hard_blocked.push(name(switch));
        }
    }
    if !hard_blocked.is_empty() {
        return Outcome::failure(format!(
            "{} is turned off by a hardware switch ({})",
            radio.label(),
            hard_blocked.join(", ")
        ));
    }
    let state = if on { "on" } else { "off" };
    let mut details = Map::new();
    details.insert(
        "switches".into(),
        switches.iter().map(|s| Value::from(name(s))).collect(),
    );
    Outcome::success(format!("{} turned {state}", radio.label())).with_details(details)
}

/// A desktop tool run for a setting: success, or a reason naming what went wrong.
async fn run_tool(program: &str, args: &[String], deadline: Instant, done: String) -> Outcome {
    let mut command = Command::new(program);
    command.args(args);
    match process::run(command, None, deadline).await {
        Ok(finished) if finished.exit.success() => Outcome::success(done),
        Ok(finished) => {
            let stderr = finished.stderr.trim();
            Outcome::failure(if stderr.is_empty() {
                format!("{program} {}", finished.exit.describe())
            } else {
                format!("{program}: {}", tail_text(stderr.as_bytes(), 1024))
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Outcome::failure(format!("{program} is not installed on this device"))
        }
        Err(e) => Outcome::failure(format!("cannot run {program}: {e}")),
    }
}

/// LOCK: every graphical session locked through logind.
pub async fn lock_sessions(deadline: Instant) -> Outcome {
    let args = ["lock-sessions".to_string()];
    run_tool("loginctl", &args, deadline, "sessions locked".into()).await
}

/// SET_STREAM_VOLUME: Linux has one output volume, Android's music stream (3); the ring,
/// notification and alarm streams have no equivalent.
pub async fn set_volume(args: &Map<String, Value>, deadline: Instant) -> Outcome {
    let stream = int_arg(args, "stream");
    let Some(level) = int_arg(args, "volume_level").filter(|v| (0..=100).contains(v)) else {
        return Outcome::failure("volume_level must be a whole number from 0 to 100");
    };
    if stream != Some(3) {
        return Outcome::failure(
            "Linux has one output volume (stream 3, music); ring, notification and alarm volumes have no equivalent here",
        );
    }
    let args = ["-q", "sset", "Master", &format!("{level}%")].map(String::from);
    run_tool(
        "amixer",
        &args,
        deadline,
        format!("volume set to {level} %"),
    )
    .await
}

/// SET_SCREEN_OFF_TIMEOUT in a graphical session: the X screen saver and DPMS times.
pub async fn set_screen_off_timeout(
    args: &Map<String, Value>,
    graphical_session: bool,
    deadline: Instant,
) -> Outcome {
    if !graphical_session {
        return Outcome::failure("this device has no graphical session to set a screen timeout in");
    }
    let Some(ms) = int_arg(args, "screen_off_timeout") else {
        return Outcome::failure("screen_off_timeout must be -1 or a number of milliseconds");
    };
    let (args, done) = if ms < 0 {
        (
            vec!["s".into(), "off".into(), "-dpms".into()],
            "the screen stays on".to_string(),
        )
    } else {
        let secs = (ms / 1000).max(1).to_string();
        (
            vec![
                "s".into(),
                secs.clone(),
                "dpms".into(),
                secs.clone(),
                secs.clone(),
                secs.clone(),
            ],
            format!("the screen turns off after {secs} s"),
        )
    };
    run_tool("xset", &args, deadline, done).await
}

/// SET_ROTATION_STATE in a graphical session: portrait (1) or landscape (2); automatic
/// rotation (0) needs a sensor daemon this agent does not drive.
pub async fn set_rotation(
    args: &Map<String, Value>,
    graphical_session: bool,
    deadline: Instant,
) -> Outcome {
    if !graphical_session {
        return Outcome::failure("this device has no graphical session to rotate");
    }
    let orientation = match int_arg(args, "rotate_state") {
        Some(1) => "left",
        Some(2) => "normal",
        Some(0) => {
            return Outcome::failure(
                "automatic rotation has no Linux equivalent here; choose portrait (1) or landscape (2)",
            );
        }
        _ => return Outcome::failure("rotate_state must be 0, 1 or 2"),
    };
    let args = ["-o".to_string(), orientation.to_string()];
    let done = format!("screen rotated to {orientation}");
    run_tool("xrandr", &args, deadline, done).await
}

/// BEEP_DEVICE: the PC speaker through `beep`, for `duration` seconds (1 by default).
pub async fn beep(args: &Map<String, Value>, deadline: Instant) -> Outcome {
    let seconds = int_arg(args, "duration").unwrap_or(1).clamp(1, 600);
    let args = ["-l".to_string(), (seconds * 1000).to_string()];
    run_tool("beep", &args, deadline, format!("beeped for {seconds} s")).await
}

/// The prefix length of a dotted subnet mask (`255.255.255.0` → 24), if it is one.
fn prefix_length(mask: Ipv4Addr) -> Option<u32> {
    let bits = u32::from(mask);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then_some(bits.leading_ones())
}

fn ipv4_arg(args: &Map<String, Value>, name: &str) -> Result<Ipv4Addr, String> {
    args.get(name)
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| format!("{name} must be an IPv4 address"))
}

/// The `nmcli connection modify` settings for SET_STATIC_IP's arguments.
fn static_ip_settings(args: &Map<String, Value>) -> Result<Vec<String>, String> {
    if bool_arg(args, "dhcp_enabled") == Some(true) {
        return Ok([
            "ipv4.method",
            "auto",
            "ipv4.addresses",
            "",
            "ipv4.gateway",
            "",
            "ipv4.dns",
            "",
        ]
        .map(String::from)
        .to_vec());
    }
    let address = ipv4_arg(args, "static_ip")?;
    let mask = ipv4_arg(args, "subnet_mask")?;
    let prefix = prefix_length(mask).ok_or_else(|| format!("{mask} is not a subnet mask"))?;
    let gateway = ipv4_arg(args, "gateway")?;
    let mut dns = vec![ipv4_arg(args, "primary_dns")?.to_string()];
    if args.get("secondary_dns").is_some() {
        dns.push(ipv4_arg(args, "secondary_dns")?.to_string());
    }
    Ok(vec![
        "ipv4.method".into(),
        "manual".into(),
        "ipv4.addresses".into(),
        format!("{address}/{prefix}"),
        "ipv4.gateway".into(),
        gateway.to_string(),
        "ipv4.dns".into(),
        dns.join(","),
    ])
}

/// An interface name as the kernel allows it (and nothing `nmcli` could read as an option).
fn is_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

/// SET_STATIC_IP: the interface's NetworkManager connection set to the given address (or to
/// DHCP) and brought up again.
pub async fn set_static_ip(args: &Map<String, Value>, deadline: Instant) -> Outcome {
    let interface = args.get("interface").and_then(Value::as_str).map(str::trim);
    let Some(interface) = interface.filter(|i| is_interface_name(i)) else {
        return Outcome::failure("interface must name a network interface such as eth0");
    };
    let settings = match static_ip_settings(args) {
        Ok(s) => s,
        Err(reason) => return Outcome::failure(reason),
    };
    // The connection NetworkManager has active on the interface.
    let mut show = Command::new("nmcli");
    show.args(["-g", "GENERAL.CONNECTION", "device", "show", interface]);
    let connection = match process::run(show, None, deadline).await {
        Ok(done) if done.exit.success() => done.stdout.trim().to_string(),
        Ok(done) => {
            return Outcome::failure(format!(
                "NetworkManager does not manage {interface}: {}",
                tail_text(done.stderr.trim().as_bytes(), 512)
            ));
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Outcome::failure(
                "static addresses on Linux are NetworkManager's, and nmcli is not installed",
            );
        }
        Err(e) => return Outcome::failure(format!("cannot run nmcli: {e}")),
    };
    if connection.is_empty() {
        return Outcome::failure(format!("{interface} has no NetworkManager connection"));
    }
    let modify: Vec<String> = ["connection", "modify", "id", &connection]
        .into_iter()
        .map(String::from)
        .chain(settings)
        .collect();
    let changed = run_tool("nmcli", &modify, deadline, String::new()).await;
    if !changed.success {
        return changed;
    }
    let up = ["connection", "up", "id", &connection].map(String::from);
    let done = format!("{interface} ({connection}) set and brought up again");
    run_tool("nmcli", &up, deadline, done).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn write(root: &Path, relative: &str, contents: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn read(root: &Path, relative: &str) -> String {
        std::fs::read_to_string(root.join(relative)).unwrap()
    }

    #[test]
    fn brightness_is_a_share_of_each_backlights_maximum() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "sys/class/backlight/intel_backlight/max_brightness",
            "19200\n",
        );
        write(
            root,
            "sys/class/backlight/intel_backlight/brightness",
            "100\n",
        );
        write(
            root,
            "sys/class/backlight/acpi_video0/max_brightness",
            "7\n",
        );
        write(root, "sys/class/backlight/acpi_video0/brightness", "7\n");
        let o = set_brightness(root, &args(json!({"brightness_value": 50})));
        assert!(o.success, "{o:?}");
        assert_eq!(
            read(root, "sys/class/backlight/intel_backlight/brightness"),
            "9600\n"
        );
        assert_eq!(
            read(root, "sys/class/backlight/acpi_video0/brightness"),
            "4\n"
        );
        // 1 % never turns the panel off.
        let o = set_brightness(root, &args(json!({"brightness_value": 1})));
        assert!(o.success);
        assert_eq!(
            read(root, "sys/class/backlight/acpi_video0/brightness"),
            "1\n"
        );
    }

    #[test]
    fn brightness_without_a_backlight_or_with_a_bad_value_fails_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let o = set_brightness(dir.path(), &args(json!({"brightness_value": 50})));
        assert!(!o.success);
        assert!(o.reason.unwrap().contains("no backlight"));
        let o = set_brightness(dir.path(), &args(json!({"brightness_value": 0})));
        assert!(o.reason.unwrap().contains("1 to 100"));
    }

    #[test]
    fn radios_are_switched_through_rfkill() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/rfkill/rfkill0/type", "wlan\n");
        write(root, "sys/class/rfkill/rfkill0/soft", "0\n");
        write(root, "sys/class/rfkill/rfkill0/hard", "0\n");
        write(root, "sys/class/rfkill/rfkill1/type", "bluetooth\n");
        write(root, "sys/class/rfkill/rfkill1/soft", "1\n");
        write(root, "sys/class/rfkill/rfkill1/hard", "0\n");
        let o = set_radio(root, Radio::Wifi, &args(json!({"wifi_state": false})));
        assert!(o.success, "{o:?}");
        assert_eq!(read(root, "sys/class/rfkill/rfkill0/soft"), "1\n");
        assert_eq!(
            read(root, "sys/class/rfkill/rfkill1/soft"),
            "1\n",
            "Bluetooth untouched"
        );
        let o = set_radio(
            root,
            Radio::Bluetooth,
            &args(json!({"bluetooth_state": true})),
        );
        assert!(o.success, "{o:?}");
        assert_eq!(read(root, "sys/class/rfkill/rfkill1/soft"), "0\n");
        // A hardware switch wins, and the report says so.
        write(root, "sys/class/rfkill/rfkill0/hard", "1\n");
        let o = set_radio(root, Radio::Wifi, &args(json!({"wifi_state": true})));
        assert!(!o.success);
        assert!(o.reason.unwrap().contains("hardware switch"));
    }

    #[test]
    fn a_missing_radio_fails_saying_which() {
        let dir = tempfile::tempdir().unwrap();
        let o = set_radio(
            dir.path(),
            Radio::Bluetooth,
            &args(json!({"bluetooth_state": true})),
        );
        assert!(!o.success);
        assert!(o.reason.unwrap().contains("no Bluetooth radio"));
    }

    #[tokio::test]
    async fn volume_has_one_linux_stream_and_tools_must_exist() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let o = set_volume(&args(json!({"stream": 0, "volume_level": 50})), deadline).await;
        assert!(!o.success);
        assert!(o.reason.unwrap().contains("one output volume"));
        let o = run_tool("steward-no-such-tool", &[], deadline, "x".into()).await;
        assert_eq!(
            o.reason.as_deref(),
            Some("steward-no-such-tool is not installed on this device")
        );
        let o = run_tool(
            "sh",
            &["-c".into(), "echo broken >&2; exit 3".into()],
            deadline,
            "x".into(),
        )
        .await;
        assert_eq!(o.reason.as_deref(), Some("sh: broken"));
    }

    #[test]
    fn static_addresses_become_networkmanager_settings() {
        let given = args(json!({"interface": "eth0", "dhcp_enabled": false,
            "static_ip": "10.1.2.30", "subnet_mask": "255.255.254.0", "gateway": "10.1.2.1",
            "primary_dns": "10.1.0.53", "secondary_dns": "9.9.9.9"}));
        assert_eq!(
            static_ip_settings(&given).unwrap(),
            [
                "ipv4.method",
                "manual",
                "ipv4.addresses",
                "10.1.2.30/23",
                "ipv4.gateway",
                "10.1.2.1",
                "ipv4.dns",
                "10.1.0.53,9.9.9.9"
            ]
        );
        let dhcp = args(json!({"interface": "eth0", "dhcp_enabled": true}));
        assert_eq!(static_ip_settings(&dhcp).unwrap()[1], "auto");
        let bad_mask = args(json!({"dhcp_enabled": false, "static_ip": "10.0.0.2",
            "subnet_mask": "255.0.255.0", "gateway": "10.0.0.1", "primary_dns": "10.0.0.1"}));
        assert_eq!(
            static_ip_settings(&bad_mask).unwrap_err(),
            "255.0.255.0 is not a subnet mask"
        );
        assert_eq!(prefix_length(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(prefix_length(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert!(!is_interface_name("--help"));
        assert!(!is_interface_name("eth0 up"));
        assert!(is_interface_name("enp3s0.100"));
    }

    #[tokio::test]
    async fn a_static_address_for_a_bad_interface_fails_before_anything_runs() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let o = set_static_ip(
            &args(json!({"interface": "-x", "dhcp_enabled": true})),
            deadline,
        )
        .await;
        assert_eq!(
            o.reason.as_deref(),
            Some("interface must name a network interface such as eth0")
        );
    }

    #[tokio::test]
    async fn screen_settings_need_a_graphical_session() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let o =
            set_screen_off_timeout(&args(json!({"screen_off_timeout": 60000})), false, deadline)
                .await;
        assert!(o.reason.unwrap().contains("no graphical session"));
        let o = set_rotation(&args(json!({"rotate_state": 0})), true, deadline).await;
        assert!(o.reason.unwrap().contains("automatic rotation"));
    }
}
