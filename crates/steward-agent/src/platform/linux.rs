//! Facts of a real Linux system, read from `/proc`, `/sys`, `/etc` and the package database.
//!
//! Every read is bounded and tolerates a missing or garbled file: the fact is then absent.
//! Parsing lives in small pure functions over `&str`; [`LinuxPlatform`] only finds and reads
//! the files (all relative to a configurable root, so tests can point it at a fixture tree).
//! Nothing here shells out except `df`, for storage, because std has no `statvfs`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use steward_proto::agent::{
    Display, HardwareInfo, InstalledApp, Inventory, MemoryInfo, NetworkInfo, NetworkInterface,
    SoftwareInfo, Telemetry,
};

use super::Platform;

/// Largest read of a small file (a sysfs value, os-release, meminfo).
const SMALL: u64 = 64 * 1024;
/// Largest read of a file that grows with the machine (cpuinfo, routes, interface lists).
const MEDIUM: u64 = 1024 * 1024;
/// Largest read of a package database (about 9,000 Debian packages).
pub(crate) const PACKAGE_DB: u64 = 8 * 1024 * 1024;
/// How much of `/proc/stat` is read: the `cpu` line comes first.
const STAT_HEAD: u64 = 8 * 1024;
/// At most this many network interfaces are reported (hosts with many containers have hundreds).
const MAX_INTERFACES: usize = 64;
/// At most this many display connectors are reported.
const MAX_DISPLAYS: usize = 16;

/// Where the facts come from and what the operator fixed.
#[derive(Debug, Clone)]
pub struct LinuxConfig {
    /// The file system root to read from: `/`, or a fixture tree in tests.
    pub root: PathBuf,
    /// A fixed location (latitude, longitude) to report, where the operator configured one.
    pub location: Option<(f64, f64)>,
    pub agent_version: String,
    /// The root whose package database is read (and where the agent installs packages), when
    /// it is not `root`.
    pub package_root: Option<PathBuf>,
}

impl Default for LinuxConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            location: None,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            package_root: None,
        }
    }
}

/// The facts of the Linux system the agent runs on.
#[derive(Debug)]
pub struct LinuxPlatform {
    config: LinuxConfig,
    /// The previous `/proc/stat` sample, for CPU use between telemetry calls.
    cpu: Mutex<Option<CpuTimes>>,
    /// Set once `df` turned out not to be installed, so it is not looked for again.
    df_missing: AtomicBool,
}

impl LinuxPlatform {
    pub fn new(config: LinuxConfig) -> Self {
        Self {
            config,
            cpu: Mutex::new(None),
            df_missing: AtomicBool::new(false),
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.config.root.join(relative.trim_start_matches('/'))
    }

    /// A small file's text (at most [`SMALL`] bytes).
    fn read(&self, relative: &str) -> Option<String> {
        self.read_up_to(relative, SMALL)
    }

    fn read_up_to(&self, relative: &str, cap: u64) -> Option<String> {
        read_bounded(&self.path(relative), cap).map(|(text, _)| text)
    }

    /// A one-value file (sysfs attribute, device-tree string), trimmed; absent when empty,
    /// garbled or a firmware placeholder such as "To be filled by O.E.M.".
    fn fact(&self, relative: &str) -> Option<String> {
        self.read(relative)
            .and_then(|t| clean(&t))
            .filter(|v| !is_placeholder(v))
    }

    fn meminfo(&self) -> (Option<u64>, Option<u64>) {
        self.read("proc/meminfo")
            .map(|t| parse_meminfo(&t))
            .unwrap_or_default()
    }

    /// Total and available MB of the file system holding the root, from `df -Pk`.
    fn storage(&self) -> (Option<u64>, Option<u64>) {
        // std has no statvfs and sysfs has no free-space figure; df is on every Linux with a
        // shell. Where it is missing, storage is simply not reported.
        if self.df_missing.load(Ordering::Relaxed) {
            return (None, None);
        }
        let output = Command::new("df")
            .arg("-Pk")
            .arg(&self.config.root)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        match output {
            Ok(out) if out.status.success() => parse_df(&String::from_utf8_lossy(&out.stdout)),
            Ok(_) => (None, None),
            Err(e) => {
                if e.kind() == std::io::ErrorKind::NotFound {
                    self.df_missing.store(true, Ordering::Relaxed);
                }
                (None, None)
            }
        }
    }

    fn wireless(&self) -> Vec<WirelessLink> {
        self.read("proc/net/wireless")
            .map(|t| parse_wireless(&t))
            .unwrap_or_default()
    }

    /// Directory entries under `relative` (sorted names), empty when it cannot be listed.
    fn entries(&self, relative: &str) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.path(relative)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = dir
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn hardware(&self, total_ram_mb: Option<u64>) -> HardwareInfo {
        let cpu = self
            .read_up_to("proc/cpuinfo", MEDIUM)
            .map(|t| parse_cpuinfo(&t))
            .unwrap_or_default();
        let dmi = |field: &str| self.fact(&format!("sys/class/dmi/id/{field}"));
        let vendor = dmi("sys_vendor").or_else(|| dmi("board_vendor"));
        // Lenovo puts the machine type in product_name ("11DT0040GE") and the name people know
        // ("ThinkCentre M70q") in product_version.
        let lenovo_name = vendor
            .as_deref()
            .filter(|v| v.eq_ignore_ascii_case("LENOVO"))
            .and_then(|_| dmi("product_version"));
        let dmi_model = lenovo_name
            .or_else(|| dmi("product_name"))
            .or_else(|| dmi("board_name"));
        // Boards without DMI (ARM) describe themselves in the device tree.
        let manufacturer = vendor.or_else(|| {
            self.read("proc/device-tree/compatible")
                .and_then(|c| vendor_from_compatible(&c))
        });
        let model = dmi_model
            .or_else(|| self.fact("proc/device-tree/model"))
            .or_else(|| cpu.board_model.clone())
            .or_else(|| cpu.hardware.clone());
        let serial_number = dmi("product_serial")
            .or_else(|| self.fact("proc/device-tree/serial-number"))
            .or_else(|| cpu.serial.clone());
        let cpu_cores = self
            .read("sys/devices/system/cpu/online")
            .and_then(|t| parse_cpu_list(&t))
            .or(cpu.processors);
        HardwareInfo {
            brand: manufacturer.clone(),
            manufacturer,
            model,
            serial_number,
            imei: None,
            cpu_model: cpu.model.or(cpu.hardware),
            cpu_cores,
            architecture: Some(std::env::consts::ARCH.to_string()),
            total_ram_mb,
        }
    }

    fn software(&self) -> SoftwareInfo {
        let (os_name, os_version) = self
            .read("etc/os-release")
            .or_else(|| self.read("usr/lib/os-release"))
            .map(|t| parse_os_release(&t))
            .unwrap_or_default();
        SoftwareInfo {
            platform: Some("LINUX".to_string()),
            os_name,
            os_version,
            kernel_version: self.fact("proc/sys/kernel/osrelease"),
            agent_version: Some(self.config.agent_version.clone()),
            hostname: self
                .fact("proc/sys/kernel/hostname")
                .or_else(|| self.read("etc/hostname").and_then(|t| first_word_line(&t))),
            timezone: self.timezone(),
            locale: self.locale(),
            api_level: None,
        }
    }

    fn timezone(&self) -> Option<String> {
        self.read("etc/timezone")
            .and_then(|t| first_word_line(&t))
            .filter(|z| is_zone_name(z))
            .or_else(|| {
                let target = std::fs::read_link(self.path("etc/localtime")).ok()?;
                parse_zoneinfo_link(&target.to_string_lossy())
            })
    }

    fn locale(&self) -> Option<String> {
        let from_env = ["LC_ALL", "LANG"]
            .into_iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
        from_env.or_else(|| {
            ["etc/default/locale", "etc/locale.conf"]
                .into_iter()
                .find_map(|f| self.read(f).and_then(|t| shell_value(&t, "LANG")))
        })
    }

    fn interfaces(&self, wireless: &[WirelessLink]) -> Vec<NetworkInterface> {
        let mut names: Vec<String> = self
            .entries("sys/class/net")
            .into_iter()
            // `bonding_masters` is a file in the same directory.
            .filter(|n| n != "lo" && self.path(&format!("sys/class/net/{n}")).is_dir())
            .collect();
        names.truncate(MAX_INTERFACES);
        if names.is_empty() {
            return Vec::new();
        }
        let mut ipv4 = match (
            self.read_up_to("proc/net/fib_trie", MEDIUM),
            self.read_up_to("proc/net/route", MEDIUM),
        ) {
            (Some(trie), Some(route)) => ipv4_by_interface(&trie, &route),
            _ => HashMap::new(),
        };
        let mut ipv6 = self
            .read_up_to("proc/net/if_inet6", MEDIUM)
            .map(|t| parse_if_inet6(&t))
            .unwrap_or_default();
        names
            .into_iter()
            .map(|name| {
                let base = format!("sys/class/net/{name}");
                let operstate = self.fact(&format!("{base}/operstate"));
                let flags = self
                    .fact(&format!("{base}/flags"))
                    .and_then(|f| parse_hex(&f));
                let mut addresses = ipv4.remove(&name).unwrap_or_default();
                addresses.extend(ipv6.remove(&name).unwrap_or_default());
                NetworkInterface {
                    mac_address: self
                        .fact(&format!("{base}/address"))
                        .filter(|m| m.chars().any(|c| c != '0' && c != ':')),
                    is_up: interface_is_up(operstate.as_deref(), flags),
                    is_wireless: self.path(&format!("{base}/wireless")).exists()
                        || self.path(&format!("{base}/phy80211")).exists()
                        || wireless.iter().any(|w| w.name == name),
                    addresses,
                    name,
                }
            })
            .collect()
    }

    fn displays(&self) -> Vec<Display> {
        self.entries("sys/class/drm")
            .into_iter()
            .filter(|n| n.starts_with("card") && n.contains('-') && !n.contains("Writeback"))
            .take(MAX_DISPLAYS)
            .map(|entry| {
                let base = format!("sys/class/drm/{entry}");
                let connected =
                    self.fact(&format!("{base}/status")).as_deref() == Some("connected");
                let mode = self
                    .read(&format!("{base}/modes"))
                    .and_then(|m| m.lines().next().and_then(parse_mode));
                Display {
                    name: entry
                        .split_once('-')
                        .map_or_else(|| entry.clone(), |(_, connector)| connector.to_string()),
                    width: mode.map(|m| m.0),
                    height: mode.map(|m| m.1),
                    connected,
                }
            })
            .collect()
    }

    /// Level (%), temperature (°C) and charging of the first system battery.
    fn battery(&self) -> (Option<f64>, Option<f64>, Option<bool>) {
        for supply in self.entries("sys/class/power_supply") {
            let attr = |a: &str| self.fact(&format!("sys/class/power_supply/{supply}/{a}"));
            // Peripherals (a wireless mouse, a scanner in its cradle) report `scope` Device.
            if attr("type").as_deref() != Some("Battery")
                || attr("scope").as_deref() == Some("Device")
            {
                continue;
            }
            let number = |a: &str| attr(a).and_then(|v| v.parse::<f64>().ok());
            let level = number("capacity")
                .or_else(|| ratio(number("energy_now"), number("energy_full")))
                .or_else(|| ratio(number("charge_now"), number("charge_full")))
                .map(|l| l.clamp(0.0, 100.0));
            let temperature = number("temp").map(|t| round1(t / 10.0));
            let charging = attr("status").and_then(|s| battery_charging(&s));
            return (level, temperature, charging);
        }
        (None, None, None)
    }

    /// The hottest thermal zone, °C.
    fn temperature(&self) -> Option<f64> {
        self.entries("sys/class/thermal")
            .into_iter()
            .filter(|n| n.starts_with("thermal_zone"))
            .filter_map(|zone| {
                let milli: f64 = self
                    .fact(&format!("sys/class/thermal/{zone}/temp"))?
                    .parse()
                    .ok()?;
                let celsius = milli / 1000.0;
                // Unwired sensors report -273 or absurd highs.
                (-40.0..=150.0).contains(&celsius).then_some(celsius)
            })
            .reduce(f64::max)
            .map(round1)
    }

    fn cpu_percent(&self) -> Option<f64> {
        let now = self
            .read_up_to("proc/stat", STAT_HEAD)
            .and_then(|t| parse_proc_stat(&t))?;
        let mut previous = self.cpu.lock().unwrap_or_else(PoisonError::into_inner);
        let before = previous.unwrap_or_default();
        let share = cpu_share(before, now);
        // Called twice within one clock tick: keep the older sample for a real interval next time.
        if share.is_some() || now.total < before.total {
            *previous = Some(now);
        }
        share
    }
}

impl Platform for LinuxPlatform {
    fn inventory(&self) -> Inventory {
        let (total_ram_mb, _) = self.meminfo();
        let (total_storage_mb, _) = self.storage();
        let wireless = self.wireless();
        Inventory {
            hardware: self.hardware(total_ram_mb),
            software: self.software(),
            network: NetworkInfo {
                interfaces: self.interfaces(&wireless),
                wifi_ssid: None,
                // The signal moves all the time, and the agent re-sends the inventory whenever
                // it changes: it goes with telemetry instead, like available memory.
                wifi_signal_strength: None,
                wifi_link_speed: None,
            },
            memory: MemoryInfo {
                total_ram_mb,
                available_ram_mb: None,
                total_storage_mb,
                available_storage_mb: None,
            },
            displays: self.displays(),
        }
    }

    fn apps(&self) -> Vec<InstalledApp> {
        let root = self
            .config
            .package_root
            .as_deref()
            .unwrap_or(&self.config.root);
        if let Some(apps) = dpkg_installed(root) {
            return apps;
        }
        read_bounded(&root.join("lib/apk/db/installed"), PACKAGE_DB)
            .map(|(text, truncated)| parse_apk_installed(complete_stanzas(&text, truncated)))
            .unwrap_or_default()
    }

    fn telemetry(&self) -> Telemetry {
        let (battery_level, battery_temperature, battery_charging) = self.battery();
        let (memory_total_mb, memory_available_mb) = self.meminfo();
        let (storage_total_mb, storage_available_mb) = self.storage();
        let traffic = self
            .read_up_to("proc/net/dev", MEDIUM)
            .map(|t| parse_net_dev(&t));
        Telemetry {
            battery_level,
            battery_temperature,
            battery_charging,
            cpu_percent: self.cpu_percent(),
            temperature: self.temperature(),
            memory_total_mb,
            memory_available_mb,
            storage_total_mb,
            storage_available_mb,
            data_download_bytes: traffic.map(|t| t.0),
            data_upload_bytes: traffic.map(|t| t.1),
            wifi_signal_strength: self.wireless().iter().find_map(|w| w.signal_dbm),
            wifi_link_speed: None,
            latitude: self.config.location.map(|l| l.0),
            longitude: self.config.location.map(|l| l.1),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// At most `cap` bytes of a file (invalid UTF-8 replaced), and whether there was more.
pub(crate) fn read_bounded(path: &Path, cap: u64) -> Option<(String, bool)> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .ok()?;
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let truncated = bytes.len() > cap;
    bytes.truncate(cap);
    Some((String::from_utf8_lossy(&bytes).into_owned(), truncated))
}

/// The Debian packages installed under `root`, from dpkg's status file; `None` where there is
/// no dpkg database.
pub fn dpkg_installed(root: &Path) -> Option<Vec<InstalledApp>> {
    read_bounded(&root.join("var/lib/dpkg/status"), PACKAGE_DB)
        .map(|(text, truncated)| parse_dpkg_status(complete_stanzas(&text, truncated)))
}

/// The text up to its last blank line when it was cut off, so no half stanza is parsed.
pub fn complete_stanzas(text: &str, truncated: bool) -> &str {
    if !truncated {
        return text;
    }
    text.rfind("\n\n").map_or("", |end| &text[..end])
}

// ---------------------------------------------------------------------------------------------
// Parsing: small pure functions over file contents

/// A value trimmed of whitespace and NULs (device-tree strings end in one); absent when empty
/// or garbled (control characters inside).
fn clean(text: &str) -> Option<String> {
    let v = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!v.is_empty() && !v.contains(char::is_control)).then(|| v.to_string())
}

/// Firmware filler that says nothing ("To be filled by O.E.M.", "0000000", "Not Specified").
pub fn is_placeholder(value: &str) -> bool {
    const FILLERS: [&str; 22] = [
        "to be filled by o.e.m.",
        "to be filled by oem",
        "default string",
        "default",
        "system manufacturer",
        "system product name",
        "system version",
        "system serial number",
        "chassis serial number",
        "base board serial number",
        "not specified",
        "not applicable",
        "not available",
        "none",
        "n/a",
        "na",
        "o.e.m.",
        "oem",
        "unknown",
        "invalid",
        "0123456789",
        "123456789",
    ];
    let v = value.trim();
    v.is_empty()
        || FILLERS.iter().any(|f| v.eq_ignore_ascii_case(f))
        || v.chars().all(|c| c == '0' || c == ' ')
}

/// The first non-empty, non-comment line when it is a single word (`/etc/hostname`,
/// `/etc/timezone`).
fn first_word_line(text: &str) -> Option<String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    (!line.contains(|c: char| c.is_whitespace() || c.is_control())).then(|| line.to_string())
}

/// Whether a text looks like a time zone name (`Europe/Berlin`, `Etc/GMT+1`, `UTC`).
fn is_zone_name(zone: &str) -> bool {
    !zone.is_empty()
        && zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
}

fn parse_hex(text: &str) -> Option<u32> {
    let t = text.trim();
    u32::from_str_radix(t.strip_prefix("0x").unwrap_or(t), 16).ok()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn ratio(now: Option<f64>, full: Option<f64>) -> Option<f64> {
    let (now, full) = (now?, full?);
    (full > 0.0).then(|| round1(now * 100.0 / full))
}

/// `MemTotal` and `MemAvailable` in MB (kernels before 3.14 lack `MemAvailable`: free plus
/// buffers plus page cache then).
pub fn parse_meminfo(text: &str) -> (Option<u64>, Option<u64>) {
    let kb = |name: &str| {
        text.lines().find_map(|l| {
            let (key, rest) = l.split_once(':')?;
            (key.trim() == name).then(|| rest.split_whitespace().next()?.parse::<u64>().ok())?
        })
    };
    let available = kb("MemAvailable").or_else(|| {
        let free = kb("MemFree")?;
        Some(free + kb("Buffers").unwrap_or(0) + kb("Cached").unwrap_or(0))
    });
    (
        kb("MemTotal").map(|k| k / 1024),
        available.map(|k| k / 1024),
    )
}

/// The value of `key` in a shell-style assignment file (os-release, `/etc/default/locale`):
/// the last assignment wins, double quotes take backslash escapes, single quotes none.
pub fn shell_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| unquote(v.trim()))
        })
        .next_back()
        .filter(|v| !v.is_empty())
}

fn unquote(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some('"') => {
            let mut out = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => {
                        if let Some(next) = chars.next() {
                            if !matches!(next, '"' | '\\' | '$' | '`') {
                                out.push('\\');
                            }
                            out.push(next);
                        }
                    }
                    c => out.push(c),
                }
            }
            out
        }
        Some('\'') => chars.take_while(|c| *c != '\'').collect(),
        _ => value
            .split(|c: char| c.is_whitespace() || c == '#')
            .next()
            .unwrap_or("")
            .to_string(),
    }
}

/// OS name (`PRETTY_NAME`, else `NAME`) and version (`VERSION_ID`, else `VERSION`, else
/// `BUILD_ID` for rolling releases) from os-release.
pub fn parse_os_release(text: &str) -> (Option<String>, Option<String>) {
    (
        shell_value(text, "PRETTY_NAME").or_else(|| shell_value(text, "NAME")),
        shell_value(text, "VERSION_ID")
            .or_else(|| shell_value(text, "VERSION"))
            .or_else(|| shell_value(text, "BUILD_ID")),
    )
}

/// A zone name from the target of the `/etc/localtime` link
/// (`../usr/share/zoneinfo/Europe/Berlin` → `Europe/Berlin`).
pub fn parse_zoneinfo_link(target: &str) -> Option<String> {
    let (_, zone) = target.rsplit_once("zoneinfo/")?;
    let zone = zone
        .strip_prefix("posix/")
        .or_else(|| zone.strip_prefix("right/"))
        .unwrap_or(zone);
    is_zone_name(zone).then(|| zone.to_string())
}

/// What `/proc/cpuinfo` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInfo {
    /// `model name` (x86, 32-bit ARM), `Processor` (old ARM), `cpu model` (MIPS), `cpu`
    /// (POWER), `uarch` (RISC-V), or the ARM core names from `CPU implementer`/`CPU part`.
    pub model: Option<String>,
    /// Number of `processor` entries (logical CPUs).
    pub processors: Option<u32>,
    /// The board serial (Raspberry Pi and other ARM boards).
    pub serial: Option<String>,
    /// The SoC (`Hardware`, ARM).
    pub hardware: Option<String>,
    /// The board (`Model`, Raspberry Pi).
    pub board_model: Option<String>,
}

pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut processors = 0u32;
    let mut implementer = None;
    let mut cores: Vec<(u32, u32)> = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let set = |slot: &mut Option<String>| {
            if slot.is_none() && !value.is_empty() && !value.contains(char::is_control) {
                *slot = Some(value.clone());
            }
        };
        match key.trim() {
            "processor" => processors = processors.saturating_add(1),
            "model name" | "Processor" | "cpu model" | "cpu" | "uarch" => set(&mut info.model),
            "Hardware" => set(&mut info.hardware),
            "Model" => set(&mut info.board_model),
            "Serial" if !is_placeholder(&value) => set(&mut info.serial),
            "CPU implementer" => implementer = parse_hex(&value),
            "CPU part" => {
                if let (Some(i), Some(p)) = (implementer, parse_hex(&value))
                    && !cores.contains(&(i, p))
                {
                    cores.push((i, p));
                }
            }
            _ => {}
        }
    }
    if info.model.is_none() {
        let names: Vec<&str> = cores
            .iter()
            .filter_map(|&(i, p)| arm_core_name(i, p))
            .collect();
        info.model = (!names.is_empty()).then(|| names.join(" + "));
    }
    info.processors = (processors > 0).then_some(processors);
    info
}

/// Names of common ARM cores by implementer and part number.
fn arm_core_name(implementer: u32, part: u32) -> Option<&'static str> {
    Some(match (implementer, part) {
        (0x41, 0xc07) => "Cortex-A7",
        (0x41, 0xc09) => "Cortex-A9",
        (0x41, 0xc0f) => "Cortex-A15",
        (0x41, 0xd03) => "Cortex-A53",
        (0x41, 0xd04) => "Cortex-A35",
        (0x41, 0xd05) => "Cortex-A55",
        (0x41, 0xd07) => "Cortex-A57",
        (0x41, 0xd08) => "Cortex-A72",
        (0x41, 0xd09) => "Cortex-A73",
        (0x41, 0xd0a) => "Cortex-A75",
        (0x41, 0xd0b) => "Cortex-A76",
        (0x41, 0xd0c) => "Neoverse-N1",
        (0x41, 0xd0d) => "Cortex-A77",
        (0x41, 0xd40) => "Neoverse-V1",
        (0x41, 0xd41) => "Cortex-A78",
        (0x41, 0xd44) => "Cortex-X1",
        (0x41, 0xd46) => "Cortex-A510",
        (0x41, 0xd47) => "Cortex-A710",
        (0x41, 0xd48) => "Cortex-X2",
        (0x41, 0xd49) => "Neoverse-N2",
        (0x41, 0xd4b) => "Cortex-A78C",
        (0x41, 0xd4f) => "Neoverse-V2",
        (0x41, 0xd80) => "Cortex-A520",
        (0x41, 0xd81) => "Cortex-A720",
        (0x51, 0x800) => "Kryo 2xx Gold",
        (0x51, 0x801) => "Kryo 2xx Silver",
        (0x51, 0x802) => "Kryo 3xx Gold",
        (0x51, 0x803) => "Kryo 3xx Silver",
        (0x51, 0x804) => "Kryo 4xx Gold",
        (0x51, 0x805) => "Kryo 4xx Silver",
        _ => return None,
    })
}

/// The number of CPUs in a kernel CPU list (`0-3,6,8-9` → 7).
pub fn parse_cpu_list(text: &str) -> Option<u32> {
    let mut count = 0u32;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let n = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                b.checked_sub(a)?.checked_add(1)?
            }
            None => {
                part.trim().parse::<u32>().ok()?;
                1
            }
        };
        count = count.checked_add(n)?;
    }
    (count > 0).then_some(count)
}

/// The maker named by a device tree's first `compatible` entry
/// (`raspberrypi,4-model-b\0brcm,bcm2711\0` → `Raspberry Pi Foundation`).
pub fn vendor_from_compatible(compatible: &str) -> Option<String> {
    let first = compatible
        .split('\0')
        .map(str::trim)
        .find(|s| !s.is_empty())?;
    let (prefix, _) = first.split_once(',')?;
    let name = match prefix {
        "raspberrypi" => "Raspberry Pi Foundation",
        "radxa" => "Radxa",
        "friendlyarm" => "FriendlyElec",
        "xunlong" => "Xunlong",
        "hardkernel" => "Hardkernel",
        "pine64" => "Pine64",
        "nvidia" => "NVIDIA",
        "rockchip" => "Rockchip",
        "allwinner" => "Allwinner",
        "fsl" | "nxp" => "NXP",
        "ti" => "Texas Instruments",
        "beagle" | "beagleboard" => "BeagleBoard.org",
        "brcm" => "Broadcom",
        "qcom" => "Qualcomm",
        "amlogic" => "Amlogic",
        "toradex" => "Toradex",
        "variscite" => "Variscite",
        "seeed" => "Seeed Studio",
        "khadas" => "Khadas",
        "libretech" => "Libre Computer",
        "starfive" => "StarFive",
        "sifive" => "SiFive",
        other if !other.is_empty() && other.chars().all(|c| c.is_ascii_alphanumeric()) => other,
        _ => return None,
    };
    Some(name.to_string())
}

/// Installed Debian packages from dpkg's status file: stanzas whose `Status` ends in
/// `installed` (or a pending trigger on an installed package), sorted and unique by name.
pub fn parse_dpkg_status(text: &str) -> Vec<InstalledApp> {
    #[derive(Default)]
    struct Stanza<'a> {
        package: Option<&'a str>,
        version: Option<&'a str>,
        description: Option<&'a str>,
        installed: bool,
    }
    let mut apps = Vec::new();
    let mut current = Stanza::default();
    let mut finish = |s: &mut Stanza| {
        let s = std::mem::take(s);
        if let (Some(package), true) = (s.package, s.installed) {
            apps.push(InstalledApp {
                package_name: package.to_string(),
                app_name: s.description.unwrap_or(package).to_string(),
                version_name: s.version.map(str::to_string),
                version_code: None,
            });
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            finish(&mut current);
            continue;
        }
        // Continuation lines (long descriptions, conffiles) start with white space.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Package" if !value.is_empty() => current.package = Some(value),
            "Version" if !value.is_empty() => current.version = Some(value),
            "Description" if !value.is_empty() => current.description = Some(value),
            "Status" => {
                current.installed = matches!(
                    value.split_whitespace().nth(2),
                    Some("installed" | "triggers-pending" | "triggers-awaiting")
                );
            }
            _ => {}
        }
    }
    finish(&mut current);
    sorted_unique(apps)
}

/// Installed Alpine packages (`P:` name, `V:` version, `T:` description), sorted and unique.
pub fn parse_apk_installed(text: &str) -> Vec<InstalledApp> {
    let mut apps = Vec::new();
    let (mut name, mut version, mut title): (Option<&str>, Option<&str>, Option<&str>) =
        (None, None, None);
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if let Some(n) = name.take() {
                apps.push(InstalledApp {
                    package_name: n.to_string(),
                    app_name: title.unwrap_or(n).to_string(),
                    version_name: version.map(str::to_string),
                    version_code: None,
                });
            }
            (version, title) = (None, None);
            continue;
        }
        let value = line.get(2..).map(str::trim).filter(|v| !v.is_empty());
        match line.get(..2) {
            Some("P:") => name = value,
            Some("V:") => version = value,
            Some("T:") => title = value,
            _ => {}
        }
    }
    sorted_unique(apps)
}

/// Sorted by package name, first entry kept for a name listed twice (dpkg lists a
/// multi-arch package once per architecture).
fn sorted_unique(mut apps: Vec<InstalledApp>) -> Vec<InstalledApp> {
    apps.sort_by(|a, b| a.package_name.cmp(&b.package_name));
    apps.dedup_by(|later, earlier| later.package_name == earlier.package_name);
    apps
}

/// Busy and total CPU time, in clock ticks since boot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

/// The `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal (guest time
/// is already counted in user and nice); idle and iowait are not busy.
pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    if values.len() < 4 {
        return None;
    }
    let total = values.iter().fold(0u64, |a, v| a.saturating_add(*v));
    let idle = values[3].saturating_add(values.get(4).copied().unwrap_or(0));
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// Percentage of time busy between two samples; absent when no time passed or the counters
/// went backwards.
pub fn cpu_share(before: CpuTimes, now: CpuTimes) -> Option<f64> {
    let total = now.total.checked_sub(before.total).filter(|t| *t > 0)?;
    let busy = now.busy.saturating_sub(before.busy);
    Some(round1(
        (busy as f64 * 100.0 / total as f64).clamp(0.0, 100.0),
    ))
}

/// Received and sent bytes summed over every interface but loopback, from `/proc/net/dev`.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| {
            let name = name.trim();
            name != "lo" && !name.contains(['|', ' '])
        })
        .fold((0u64, 0u64), |(rx, tx), (_, rest)| {
            let mut f = rest
                .split_whitespace()
                .map(|v| v.parse::<u64>().unwrap_or(0));
            let received = f.next().unwrap_or(0);
            let sent = f.nth(7).unwrap_or(0);
            (rx.saturating_add(received), tx.saturating_add(sent))
        })
}

/// An interface listed in `/proc/net/wireless`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WirelessLink {
    pub name: String,
    /// Signal level in dBm, where the driver reports a plausible one.
    pub signal_dbm: Option<i32>,
}

/// Wireless interfaces and their signal levels from `/proc/net/wireless`. Levels are dBm
/// (cfg80211 drivers); old drivers' unsigned 8-bit encoding (200 = -56 dBm) is converted.
pub fn parse_wireless(text: &str) -> Vec<WirelessLink> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            if name.is_empty() || name.contains(['|', ' ']) {
                return None;
            }
            let level = rest
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.trim_end_matches('.').parse::<f64>().ok());
            let dbm = level.map(|l| {
                if (64.0..=255.0).contains(&l) {
                    l - 256.0
                } else {
                    l
                }
            });
            Some(WirelessLink {
                name: name.to_string(),
                signal_dbm: dbm
                    .filter(|d| (-120.0..0.0).contains(d))
                    .map(|d| d.round() as i32),
            })
        })
        .collect()
}

/// IPv6 addresses per interface from `/proc/net/if_inet6` (addresses whose duplicate address
/// detection failed are left out).
pub fn parse_if_inet6(text: &str) -> HashMap<String, Vec<String>> {
    const IFA_F_DADFAILED: u32 = 0x08;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [hex, _, _, _, flags, name] = f[..] else {
            continue;
        };
        if hex.len() != 32 || parse_hex(flags).is_some_and(|f| f & IFA_F_DADFAILED != 0) {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(hex, 16) else {
            continue;
        };
        out.entry(name.to_string())
            .or_default()
            .push(Ipv6Addr::from(bits).to_string());
    }
    out
}

/// The machine's own IPv4 addresses (`/32 host LOCAL` leaves of `/proc/net/fib_trie`), loopback
/// left out, in trie order.
pub fn parse_fib_trie_locals(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut leaf: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(address) = t.strip_prefix("|--") {
            leaf = address.trim().parse().ok();
        } else if let Some(rest) = t.strip_prefix('/') {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.starts_with(&["32", "host", "LOCAL"])
                && let Some(address) = leaf
                && !address.is_loopback()
                && seen.insert(address)
            {
                out.push(address);
            }
        } else {
            // A node (`+-- 10.0.0.0/8 …`) or a table heading (`Main:`, `Local:`).
            leaf = None;
        }
    }
    out
}

/// One line of `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub interface: String,
    pub destination: Ipv4Addr,
    pub mask: Ipv4Addr,
    pub flags: u32,
}

/// The main routing table from `/proc/net/route`. Addresses are printed as the kernel's
/// network-order words read in host order, so they are turned back with native byte order.
pub fn parse_route(text: &str) -> Vec<Route> {
    let address = |hex: &str| parse_hex(hex).map(|v| Ipv4Addr::from(v.to_ne_bytes()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            Some(Route {
                interface: f[0].to_string(),
                destination: address(f[1])?,
                flags: parse_hex(f[3])?,
                mask: address(f[7])?,
            })
        })
        .collect()
}

/// IPv4 addresses per interface: each local address goes to the interface whose directly
/// connected (gateway-less) route covers it most narrowly. The kernel adds that route with the
/// address; an address without one (added with `noprefixroute`) is left out rather than guessed.
pub fn ipv4_by_interface(fib_trie: &str, route: &str) -> HashMap<String, Vec<String>> {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    let routes: Vec<Route> = parse_route(route)
        .into_iter()
        .filter(|r| r.flags & RTF_UP != 0 && r.flags & RTF_GATEWAY == 0 && !r.mask.is_unspecified())
        .collect();
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for address in parse_fib_trie_locals(fib_trie) {
        let a = u32::from(address);
        let mut best: Option<&Route> = None;
        for r in &routes {
            let mask = u32::from(r.mask);
            if a & mask == u32::from(r.destination) & mask
                && best.is_none_or(|b| mask.count_ones() > u32::from(b.mask).count_ones())
            {
                best = Some(r);
            }
        }
        if let Some(r) = best {
            out.entry(r.interface.clone())
                .or_default()
                .push(address.to_string());
        }
    }
    out
}

/// Whether an interface is up: `operstate` up, or `unknown` (tunnels, some virtual links) with
/// the IFF_UP and IFF_RUNNING flags set.
fn interface_is_up(operstate: Option<&str>, flags: Option<u32>) -> bool {
    const UP_AND_RUNNING: u32 = 0x1 | 0x40;
    match operstate {
        Some("up") => true,
        Some("unknown") => flags.is_some_and(|f| f & UP_AND_RUNNING == UP_AND_RUNNING),
        _ => false,
    }
}

/// Charging per a power supply's `status`: full counts as charging (plugged in), as on Android.
fn battery_charging(status: &str) -> Option<bool> {
    match status {
        "Charging" | "Full" => Some(true),
        "Discharging" | "Not charging" => Some(false),
        _ => None,
    }
}

/// Total and available MB of a file system from `df -Pk` output. The figures are the three
/// before the capacity column, so a device or mount point with spaces does not shift them.
pub fn parse_df(text: &str) -> (Option<u64>, Option<u64>) {
    let Some(line) = text.lines().nth(1) else {
        return (None, None);
    };
    let f: Vec<&str> = line.split_whitespace().collect();
    let Some(pct) = f.iter().position(|w| w.ends_with('%') && w.len() > 1) else {
        return (None, None);
    };
    let kb = |i: Option<usize>| {
        i.and_then(|i| f.get(i))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|k| k / 1024)
    };
    (kb(pct.checked_sub(3)), kb(pct.checked_sub(1)))
}

/// `1920x1080` → (1920, 1080); interlaced modes (`1920x1080i`) too.
pub fn parse_mode(line: &str) -> Option<(u32, u32)> {
    let (w, h) = line.trim().split_once('x')?;
    let h = h.trim_end_matches(|c: char| !c.is_ascii_digit());
    Some((w.parse().ok()?, h.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo() {
        assert_eq!(
            parse_meminfo("MemTotal:  2048000 kB\nMemFree: 1 kB\nMemAvailable:  1024000 kB\n"),
            (Some(2000), Some(1000))
        );
        // Old kernels: free + buffers + cached.
        assert_eq!(
            parse_meminfo(
                "MemTotal: 4096 kB\nMemFree: 1024 kB\nBuffers: 1024 kB\nCached: 1024 kB\n"
            ),
            (Some(4), Some(3))
        );
        assert_eq!(parse_meminfo("garbage\n\0\0"), (None, None));
    }

    #[test]
    fn os_release_and_shell_values() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(
            parse_os_release(debian),
            (
                Some("Debian GNU/Linux 12 (bookworm)".into()),
                Some("12".into())
            )
        );
        assert_eq!(
            parse_os_release("NAME='Alpine Linux'\nVERSION_ID=3.19.1\n"),
            (Some("Alpine Linux".into()), Some("3.19.1".into()))
        );
        assert_eq!(
            parse_os_release("NAME=\"Arch Linux\"\nBUILD_ID=rolling\n"),
            (Some("Arch Linux".into()), Some("rolling".into()))
        );
        assert_eq!(parse_os_release(""), (None, None));
        assert_eq!(
            shell_value(
                "# c\nexport LANG=\"de_DE.UTF-8\" # set by installer\n",
                "LANG"
            ),
            Some("de_DE.UTF-8".into())
        );
        assert_eq!(
            shell_value("A=1\nA=2 # later wins\n", "A"),
            Some("2".into())
        );
        assert_eq!(
            shell_value(r#"X="say \"hi\" \\ \n""#, "X"),
            Some(r#"say "hi" \ \n"#.into())
        );
        assert_eq!(shell_value("LANG=\n", "LANG"), None);
        assert_eq!(shell_value("LANGUAGE=en\n", "LANG"), None);
    }

    #[test]
    fn zoneinfo_links_and_word_files() {
        assert_eq!(
            parse_zoneinfo_link("/usr/share/zoneinfo/Europe/Berlin"),
            Some("Europe/Berlin".into())
        );
        assert_eq!(
            parse_zoneinfo_link("../usr/share/zoneinfo/posix/America/New_York"),
            Some("America/New_York".into())
        );
        assert_eq!(parse_zoneinfo_link("/etc/alternatives/localtime"), None);
        assert_eq!(parse_zoneinfo_link("/usr/share/zoneinfo/"), None);
        assert_eq!(
            first_word_line("# comment\n\n kiosk-7 \n"),
            Some("kiosk-7".into())
        );
        assert_eq!(first_word_line("two words\n"), None);
        assert!(is_zone_name("Etc/GMT+1") && !is_zone_name("Europe/\u{1}"));
    }

    #[test]
    fn cpuinfo_x86() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Intel(R) Celeron(R) J4125   CPU @ 2.00GHz\ncpu MHz\t\t: 1996.800\ncpu cores\t: 4\n\nprocessor\t: 1\nmodel name\t: Intel(R) Celeron(R) J4125   CPU @ 2.00GHz\n";
        let info = parse_cpuinfo(text);
        assert_eq!(
            info.model.as_deref(),
            Some("Intel(R) Celeron(R) J4125 CPU @ 2.00GHz")
        );
        assert_eq!(info.processors, Some(2));
        assert_eq!(
            (info.serial, info.hardware, info.board_model),
            (None, None, None)
        );
    }

    #[test]
    fn cpuinfo_raspberry_pi_and_big_little() {
        let pi = "processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08\n\nprocessor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\nHardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 10000000abcdef01\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n";
        let info = parse_cpuinfo(pi);
        assert_eq!(info.model.as_deref(), Some("Cortex-A72"));
        assert_eq!(info.processors, Some(2));
        assert_eq!(info.serial.as_deref(), Some("10000000abcdef01"));
        assert_eq!(info.hardware.as_deref(), Some("BCM2835"));
        assert_eq!(
            info.board_model.as_deref(),
            Some("Raspberry Pi 4 Model B Rev 1.4")
        );
        let rk3588 = "processor : 0\nCPU implementer : 0x41\nCPU part : 0xd05\nprocessor : 4\nCPU implementer : 0x41\nCPU part : 0xd0b\nprocessor : 5\nCPU implementer : 0x41\nCPU part : 0xd0b\n";
        assert_eq!(
            parse_cpuinfo(rk3588).model.as_deref(),
            Some("Cortex-A55 + Cortex-A76")
        );
        // Old 32-bit ARM kernels; an all-zero serial says nothing.
        let old = "Processor\t: ARMv7 Processor rev 10 (v7l)\nprocessor\t: 0\nSerial\t\t: 0000000000000000\n";
        let info = parse_cpuinfo(old);
        assert_eq!(info.model.as_deref(), Some("ARMv7 Processor rev 10 (v7l)"));
        assert_eq!(info.serial, None);
        assert_eq!(parse_cpuinfo("\u{fffd}\u{fffd}:::\n"), CpuInfo::default());
    }

    #[test]
    fn cpu_lists_placeholders_and_device_trees() {
        assert_eq!(parse_cpu_list("0-3\n"), Some(4));
        assert_eq!(parse_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list(""), None);
        for filler in [
            "To be filled by O.E.M.",
            "Default string",
            "0",
            "000000",
            "None",
            "",
        ] {
            assert!(is_placeholder(filler), "{filler}");
        }
        assert!(!is_placeholder("PF3ABC12"));
        assert!(!is_placeholder("OptiPlex 3000"));
        assert_eq!(
            vendor_from_compatible("raspberrypi,4-model-b\0brcm,bcm2711\0"),
            Some("Raspberry Pi Foundation".into())
        );
        assert_eq!(vendor_from_compatible("acme,board\0"), Some("acme".into()));
        assert_eq!(vendor_from_compatible("nocomma\0"), None);
    }

    #[test]
    fn dpkg_status() {
        let text = "Package: bash\nEssential: yes\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nDescription: GNU Bourne Again SHell\n Bash is an sh-compatible command language interpreter.\n .\n More.\n\n\
Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n\
Package: broken\nStatus: install reinstreq half-installed\nVersion: 2\n\n\
Package: libc6\nStatus: install ok triggers-pending\nArchitecture: amd64\nVersion: 2.36-9\nDescription: GNU C Library: Shared libraries\n\n\
Package: libc6\nStatus: install ok installed\nArchitecture: i386\nVersion: 2.36-9\n\n\
Package: aaa-nodesc\nStatus: hold ok installed\nVersion: 0.1\nConffiles:\n /etc/aaa abc\n\n\n\
Package: nostatus\nVersion: 3\n";
        let apps = parse_dpkg_status(text);
        let names: Vec<&str> = apps.iter().map(|a| a.package_name.as_str()).collect();
        assert_eq!(names, ["aaa-nodesc", "bash", "libc6"]);
        assert_eq!(apps[0].app_name, "aaa-nodesc");
        assert_eq!(apps[1].app_name, "GNU Bourne Again SHell");
        assert_eq!(apps[1].version_name.as_deref(), Some("5.2.15-2+b2"));
        assert_eq!(apps[1].version_code, None);
        assert_eq!(apps[2].app_name, "GNU C Library: Shared libraries");
        assert!(parse_dpkg_status("").is_empty());
        assert!(parse_dpkg_status("\0\u{fffd}\nPackage:\nStatus: x\n").is_empty());
    }

    #[test]
    fn dpkg_status_at_scale() {
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!(
                "Package: pkg-{i:04}\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 1234\nMaintainer: Someone <someone@example.org>\nArchitecture: amd64\nVersion: 1.{i}-1\nDepends: libc6 (>= 2.34)\nDescription: package number {i}\n A long description\n spanning lines.\n\n"
            ));
        }
        let started = std::time::Instant::now();
        let apps = parse_dpkg_status(&text);
        assert_eq!(apps.len(), 3000);
        assert_eq!(apps[2999].version_name.as_deref(), Some("1.2999-1"));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // Cut off mid-stanza, only complete stanzas count.
        let cut = &text[..text.len() - 40];
        assert_eq!(parse_dpkg_status(complete_stanzas(cut, true)).len(), 2999);
        assert_eq!(complete_stanzas("no blank line", true), "");
        assert_eq!(complete_stanzas("whole", false), "whole");
    }

    #[test]
    fn apk_installed() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nT:the musl c library (libc) implementation\n\nC:Q1def=\nP:busybox\nV:1.36.1-r15\n\nV:9\n";
        let apps = parse_apk_installed(text);
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].package_name, "busybox");
        assert_eq!(apps[0].app_name, "busybox");
        assert_eq!(apps[1].package_name, "musl");
        assert_eq!(apps[1].version_name.as_deref(), Some("1.2.4-r2"));
        assert_eq!(apps[1].app_name, "the musl c library (libc) implementation");
        assert!(parse_apk_installed("P:\n").is_empty());
    }

    #[test]
    fn proc_stat_and_cpu_share() {
        let first = parse_proc_stat("cpu  100 0 100 700 100 0 0 0 50 0\ncpu0 1 2 3 4\nintr 1 2\n");
        assert_eq!(
            first,
            Some(CpuTimes {
                busy: 200,
                total: 1000
            })
        );
        let Some(first) = first else { return };
        assert_eq!(cpu_share(CpuTimes::default(), first), Some(20.0));
        let later = CpuTimes {
            busy: 500,
            total: 1400,
        };
        assert_eq!(cpu_share(first, later), Some(75.0));
        assert_eq!(cpu_share(first, first), None);
        assert_eq!(cpu_share(later, first), None);
        assert_eq!(parse_proc_stat("cpu  1 2\n"), None);
        assert_eq!(parse_proc_stat("cpu  a b c d\n"), None);
        assert_eq!(parse_proc_stat(""), None);
    }

    #[test]
    fn net_dev() {
        let dev = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 500 1 0 0 0 0 0 0 500 1 0 0 0 0 0 0\n  eth0:1000 2 0 0 0 0 0 0 300 1 0 0 0 0 0 0\n wlan0: 24 2 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(dev), (1024, 306));
        assert_eq!(parse_net_dev("garbage"), (0, 0));
    }

    #[test]
    fn wireless() {
        let text = "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n wlan0: 0000   54.  -56.  -256        0      0      0      0      0        0\n wlan1: 0000   40.  200.  0   0 0 0 0 0 0\n wlan2: 0000   0    0     0   0 0 0 0 0 0\n";
        let links = parse_wireless(text);
        assert_eq!(
            links,
            vec![
                WirelessLink {
                    name: "wlan0".into(),
                    signal_dbm: Some(-56)
                },
                WirelessLink {
                    name: "wlan1".into(),
                    signal_dbm: Some(-56)
                },
                WirelessLink {
                    name: "wlan2".into(),
                    signal_dbm: None
                },
            ]
        );
        assert!(parse_wireless("").is_empty());
    }

    #[test]
    fn ipv6_addresses() {
        let v6 = parse_if_inet6(
            "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n00000000000000000000000000000001 01 80 10 80       lo\nfd000000000000000000000000000002 04 40 00 88     eth0\nshort 1 2 3 4 eth1\n",
        );
        assert_eq!(
            v6.get("eth0"),
            Some(&vec!["fe80::fc:ff:fe00:1".to_string()])
        );
        assert_eq!(v6.get("lo"), Some(&vec!["::1".to_string()]));
        assert!(!v6.contains_key("eth1"));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn ipv4_addresses_from_fib_trie_and_routes() {
        let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        +-- 127.0.0.0/31 1 0 0\n           |-- 127.0.0.0\n              /8 host LOCAL\n           |-- 127.0.0.1\n              /32 host LOCAL\n        |-- 127.255.255.255\n           /32 link BROADCAST\n     +-- 172.17.0.0/16 2 0 2\n        |-- 172.17.0.0\n           /16 link UNICAST\n        |-- 172.17.0.1\n           /32 host LOCAL\n     +-- 192.0.2.0/24 2 0 2\n        +-- 192.0.2.0/30 2 0 2\n           |-- 192.0.2.0\n              /24 link UNICAST\n           |-- 192.0.2.2\n              /32 host LOCAL\n        |-- 192.0.2.255\n           /32 link BROADCAST\n     |-- 203.0.113.9\n        /32 host LOCAL\nLocal:\n  +-- 0.0.0.0/0 3 0 5\n           |-- 192.0.2.2\n              /32 host LOCAL\n";
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\ndocker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(
            parse_fib_trie_locals(trie),
            vec![
                Ipv4Addr::new(172, 17, 0, 1),
                Ipv4Addr::new(192, 0, 2, 2),
                Ipv4Addr::new(203, 0, 113, 9)
            ]
        );
        let routes = parse_route(route);
        assert_eq!(routes[1].destination, Ipv4Addr::new(192, 0, 2, 0));
        assert_eq!(routes[1].mask, Ipv4Addr::new(255, 255, 255, 0));
        let by_interface = ipv4_by_interface(trie, route);
        assert_eq!(
            by_interface.get("eth0"),
            Some(&vec!["192.0.2.2".to_string()])
        );
        assert_eq!(
            by_interface.get("docker0"),
            Some(&vec!["172.17.0.1".to_string()])
        );
        // 203.0.113.9 has no connected route: not guessed onto the default route's interface.
        assert_eq!(by_interface.values().map(Vec::len).sum::<usize>(), 2);
        assert!(ipv4_by_interface("garbage", "garbage").is_empty());
    }

    #[test]
    fn df_modes_and_flags() {
        assert_eq!(
            parse_df(
                "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 2048000 1024000 1024000 50% /\n"
            ),
            (Some(2000), Some(1000))
        );
        assert_eq!(
            parse_df(
                "Filesystem 1024-blocks Used Available Capacity Mounted on\nmy disk 1024 0 512 0% /media/my disk\n"
            ),
            (Some(1), Some(0))
        );
        assert_eq!(
            parse_df("df: /nope: No such file or directory\n"),
            (None, None)
        );
        assert_eq!(parse_mode("1920x1080\n"), Some((1920, 1080)));
        assert_eq!(parse_mode("1920x1080i"), Some((1920, 1080)));
        assert_eq!(parse_mode("garbage"), None);
        assert!(interface_is_up(Some("up"), None));
        assert!(interface_is_up(Some("unknown"), Some(0x1043)));
        assert!(!interface_is_up(Some("unknown"), Some(0x1003)));
        assert!(!interface_is_up(Some("down"), Some(0x1043)));
        assert_eq!(battery_charging("Full"), Some(true));
        assert_eq!(battery_charging("Not charging"), Some(false));
        assert_eq!(battery_charging("Unknown"), None);
    }

    fn write(root: &Path, relative: &str, contents: impl AsRef<[u8]>) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    fn platform(root: &Path) -> LinuxPlatform {
        LinuxPlatform::new(LinuxConfig {
            root: root.to_path_buf(),
            location: Some((52.5, 13.4)),
            agent_version: "9.9".into(),
            package_root: None,
        })
    }

    /// A kiosk PC with DMI, Debian, a wired and a wireless interface, a screen and a battery.
    #[test]
    fn a_fixture_root_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/dmi/id/sys_vendor", "Elo Touch Solutions\n");
        write(root, "sys/class/dmi/id/product_name", "I-Series 4\n");
        write(
            root,
            "sys/class/dmi/id/product_serial",
            "To be filled by O.E.M.\n",
        );
        write(
            root,
            "proc/cpuinfo",
            "processor\t: 0\nmodel name\t: Intel(R) Celeron(R) J4125 CPU @ 2.00GHz\n\nprocessor\t: 1\nmodel name\t: Intel(R) Celeron(R) J4125 CPU @ 2.00GHz\n",
        );
        write(
            root,
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n",
        );
        write(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
        write(root, "etc/hostname", "till-7\n");
        std::fs::create_dir_all(root.join("usr/share/zoneinfo/Europe")).unwrap();
        std::os::unix::fs::symlink(
            "../usr/share/zoneinfo/Europe/Berlin",
            root.join("etc/localtime"),
        )
        .unwrap();
        write(
            root,
            "proc/meminfo",
            "MemTotal: 4096000 kB\nMemFree: 10 kB\nMemAvailable: 2048000 kB\n",
        );
        write(root, "sys/class/net/lo/address", "00:00:00:00:00:00\n");
        write(root, "sys/class/net/bonding_masters", "\n");
        write(root, "sys/class/net/eth0/address", "02:00:00:aa:bb:cc\n");
        write(root, "sys/class/net/eth0/operstate", "up\n");
        write(root, "sys/class/net/wlan0/address", "02:00:00:dd:ee:ff\n");
        write(root, "sys/class/net/wlan0/operstate", "dormant\n");
        write(root, "sys/class/net/wlan0/wireless/.keep", "");
        write(
            root,
            "proc/net/fib_trie",
            "Main:\n  +-- 0.0.0.0/0 3 0 5\n     +-- 10.1.2.0/24 2 0 2\n        |-- 10.1.2.0\n           /24 link UNICAST\n        |-- 10.1.2.3\n           /32 host LOCAL\n",
        );
        let mask = u32::from_ne_bytes([255, 255, 255, 0]);
        let net = u32::from_ne_bytes([10, 1, 2, 0]);
        write(
            root,
            "proc/net/route",
            format!(
                "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t{net:08X}\t00000000\t0001\t0\t0\t0\t{mask:08X}\n"
            ),
        );
        write(
            root,
            "proc/net/if_inet6",
            "fe800000000000000000000000000001 02 40 20 80 eth0\n",
        );
        write(
            root,
            "proc/net/wireless",
            "Inter-| sta-|   Quality\n face | tus | link level noise\n wlan0: 0000   54.  -61.  -256 0 0 0 0 0 0\n",
        );
        write(
            root,
            "proc/net/dev",
            "Inter-|\n face |\n    lo: 500 1 0 0 0 0 0 0 500 1 0 0 0 0 0 0\n  eth0: 1000 2 0 0 0 0 0 0 300 1 0 0 0 0 0 0\n wlan0: 24 2 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n",
        );
        write(root, "sys/class/drm/card0/dev", "226:0\n");
        write(root, "sys/class/drm/card0-HDMI-A-1/status", "connected\n");
        write(
            root,
            "sys/class/drm/card0-HDMI-A-1/modes",
            "1920x1080\n1280x720\n",
        );
        write(root, "sys/class/drm/card0-DP-1/status", "disconnected\n");
        write(root, "sys/class/drm/card0-DP-1/modes", "");
        write(root, "sys/class/power_supply/AC/type", "Mains\n");
        write(root, "sys/class/power_supply/BAT0/type", "Battery\n");
        write(root, "sys/class/power_supply/BAT0/capacity", "81\n");
        write(root, "sys/class/power_supply/BAT0/temp", "312\n");
        write(root, "sys/class/power_supply/BAT0/status", "Charging\n");
        write(root, "sys/class/thermal/thermal_zone0/temp", "45500\n");
        write(root, "sys/class/thermal/thermal_zone1/temp", "51000\n");
        write(root, "sys/class/thermal/thermal_zone2/temp", "-273000\n");
        write(root, "sys/class/thermal/cooling_device0/temp", "99000\n");
        write(root, "proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
        write(
            root,
            "var/lib/dpkg/status",
            "Package: kiosk\nStatus: install ok installed\nVersion: 1.0\nDescription: Kiosk shell\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2\n",
        );
        let p = platform(root);
        let inv = p.inventory();
        let hw = &inv.hardware;
        assert_eq!(hw.manufacturer.as_deref(), Some("Elo Touch Solutions"));
        assert_eq!(hw.brand, hw.manufacturer);
        assert_eq!(hw.model.as_deref(), Some("I-Series 4"));
        assert_eq!(hw.serial_number, None);
        assert_eq!(
            hw.cpu_model.as_deref(),
            Some("Intel(R) Celeron(R) J4125 CPU @ 2.00GHz")
        );
        assert_eq!(hw.cpu_cores, Some(2));
        assert_eq!(hw.architecture.as_deref(), Some(std::env::consts::ARCH));
        assert_eq!(hw.total_ram_mb, Some(4000));
        let sw = &inv.software;
        assert_eq!(sw.platform.as_deref(), Some("LINUX"));
        assert_eq!(
            sw.os_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(sw.os_version.as_deref(), Some("12"));
        assert_eq!(sw.kernel_version.as_deref(), Some("6.1.0-18-amd64"));
        assert_eq!(sw.hostname.as_deref(), Some("till-7"));
        assert_eq!(sw.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(sw.agent_version.as_deref(), Some("9.9"));
        assert_eq!(sw.api_level, None);
        let names: Vec<&str> = inv
            .network
            .interfaces
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, ["eth0", "wlan0"]);
        let eth0 = &inv.network.interfaces[0];
        assert_eq!(eth0.mac_address.as_deref(), Some("02:00:00:aa:bb:cc"));
        assert!(eth0.is_up && !eth0.is_wireless);
        assert_eq!(eth0.addresses, ["10.1.2.3", "fe80::1"]);
        let wlan0 = &inv.network.interfaces[1];
        assert!(!wlan0.is_up && wlan0.is_wireless && wlan0.addresses.is_empty());
        assert_eq!(inv.network.wifi_signal_strength, None);
        assert_eq!(inv.memory.total_ram_mb, Some(4000));
        assert_eq!(inv.memory.available_ram_mb, None);
        assert_eq!(inv.displays.len(), 2);
        assert_eq!(inv.displays[0].name, "DP-1");
        assert!(!inv.displays[0].connected);
        assert_eq!(
            (
                inv.displays[1].name.as_str(),
                inv.displays[1].connected,
                inv.displays[1].width,
                inv.displays[1].height
            ),
            ("HDMI-A-1", true, Some(1920), Some(1080))
        );
        // The inventory is stable between calls (the agent re-sends it when it changes).
        assert_eq!(p.inventory(), inv);

        let apps = p.apps();
        assert_eq!(apps.len(), 2);
        assert_eq!(
            (apps[1].package_name.as_str(), apps[1].app_name.as_str()),
            ("kiosk", "Kiosk shell")
        );

        let t = p.telemetry();
        assert_eq!(
            (t.battery_level, t.battery_temperature, t.battery_charging),
            (Some(81.0), Some(31.2), Some(true))
        );
        assert_eq!(t.temperature, Some(51.0));
        assert_eq!(t.cpu_percent, Some(20.0));
        assert_eq!(
            (t.memory_total_mb, t.memory_available_mb),
            (Some(4000), Some(2000))
        );
        assert_eq!(
            (t.data_download_bytes, t.data_upload_bytes),
            (Some(1024), Some(306))
        );
        assert_eq!(t.wifi_signal_strength, Some(-61));
        assert_eq!(t.wifi_link_speed, None);
        assert_eq!((t.latitude, t.longitude), (Some(52.5), Some(13.4)));
        if t.storage_total_mb.is_some() {
            assert!(t.storage_available_mb <= t.storage_total_mb);
        }
        // The next call measures since the previous one.
        write(root, "proc/stat", "cpu  150 0 150 900 0 0 0 0 0 0\n");
        assert_eq!(p.telemetry().cpu_percent, Some(50.0));
        assert_eq!(p.telemetry().cpu_percent, None);
        write(root, "proc/stat", "cpu  150 0 150 1000 0 0 0 0 0 0\n");
        assert_eq!(p.telemetry().cpu_percent, Some(0.0));
    }

    /// A Raspberry Pi: no DMI, facts in the device tree and cpuinfo, Alpine packages.
    #[test]
    fn an_arm_board_without_dmi() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "proc/device-tree/model",
            "Raspberry Pi 4 Model B Rev 1.4\0",
        );
        write(
            root,
            "proc/device-tree/compatible",
            "raspberrypi,4-model-b\0brcm,bcm2711\0",
        );
        write(
            root,
            "proc/cpuinfo",
            "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\nprocessor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\nHardware\t: BCM2835\nSerial\t\t: 10000000abcdef01\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n",
        );
        write(root, "sys/devices/system/cpu/online", "0-3\n");
        write(root, "etc/timezone", "Europe/London\n");
        write(
            root,
            "etc/os-release",
            "NAME=\"Alpine Linux\"\nVERSION_ID=3.19.1\n",
        );
        write(
            root,
            "lib/apk/db/installed",
            "P:musl\nV:1.2.4-r2\n\nP:busybox\nV:1.36.1-r15\n",
        );
        let p = platform(root);
        let inv = p.inventory();
        let hw = &inv.hardware;
        assert_eq!(hw.manufacturer.as_deref(), Some("Raspberry Pi Foundation"));
        assert_eq!(hw.model.as_deref(), Some("Raspberry Pi 4 Model B Rev 1.4"));
        assert_eq!(hw.serial_number.as_deref(), Some("10000000abcdef01"));
        assert_eq!(hw.cpu_model.as_deref(), Some("Cortex-A72"));
        assert_eq!(hw.cpu_cores, Some(4));
        assert_eq!(inv.software.timezone.as_deref(), Some("Europe/London"));
        assert_eq!(inv.software.os_name.as_deref(), Some("Alpine Linux"));
        assert_eq!(inv.software.hostname, None);
        assert!(inv.network.interfaces.is_empty() && inv.displays.is_empty());
        let apps = p.apps();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[1].version_name.as_deref(), Some("1.2.4-r2"));
        let t = p.telemetry();
        assert_eq!((t.battery_level, t.battery_charging), (None, None));
        assert_eq!((t.cpu_percent, t.temperature), (None, None));
        assert_eq!(
            (t.data_download_bytes, t.wifi_signal_strength),
            (None, None)
        );
    }

    /// Every file present but garbage (binary, empty, huge): nothing panics, facts are absent.
    #[test]
    fn garbled_files_give_absent_facts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let junk: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        for file in [
            "sys/class/dmi/id/sys_vendor",
            "sys/class/dmi/id/product_name",
            "proc/cpuinfo",
            "proc/meminfo",
            "etc/os-release",
            "etc/timezone",
            "proc/net/fib_trie",
            "proc/net/route",
            "proc/net/if_inet6",
            "proc/net/wireless",
            "proc/net/dev",
            "proc/stat",
            "sys/class/net/eth0/flags",
            "sys/class/drm/card0-HDMI-A-1/modes",
            "sys/class/power_supply/BAT0/type",
            "sys/class/thermal/thermal_zone0/temp",
            "var/lib/dpkg/status",
        ] {
            write(root, file, &junk);
        }
        // Larger than the cap: read in part, never whole.
        write(root, "proc/sys/kernel/osrelease", vec![b'x'; 200_000]);
        let p = platform(root);
        let inv = p.inventory();
        assert_eq!(inv.hardware.manufacturer, None);
        assert_eq!(inv.hardware.total_ram_mb, None);
        assert_eq!(inv.software.os_version, None);
        assert_eq!(inv.software.timezone, None);
        assert!(
            inv.software
                .kernel_version
                .is_some_and(|k| k.len() as u64 <= SMALL)
        );
        assert_eq!(inv.displays[0].width, None);
        assert!(p.apps().is_empty());
        let t = p.telemetry();
        assert_eq!(
            (t.cpu_percent, t.temperature, t.battery_level),
            (None, None, None)
        );
        assert_eq!(t.data_download_bytes, Some(0));
        // A root that does not exist at all.
        let p = platform(&root.join("missing"));
        assert_eq!(p.inventory().software.platform.as_deref(), Some("LINUX"));
        assert!(p.apps().is_empty());
        let _ = p.telemetry();
    }

    #[test]
    fn this_machine_reads_without_panicking() {
        let p = LinuxPlatform::new(LinuxConfig::default());
        let inv = p.inventory();
        assert_eq!(inv.software.platform.as_deref(), Some("LINUX"));
        assert!(inv.software.kernel_version.is_some());
        assert!(inv.hardware.architecture.is_some());
        assert!(inv.network.interfaces.iter().all(|i| i.name != "lo"));
        // Any number of packages, including none (a container without dpkg or apk).
        let apps = p.apps();
        assert!(apps.iter().all(|a| !a.package_name.is_empty()));
        let _ = p.telemetry();
        let second = p.telemetry();
        assert!(
            second
                .cpu_percent
                .is_none_or(|c| (0.0..=100.0).contains(&c))
        );
    }
}
