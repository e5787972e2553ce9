//! Facts of a real Linux system, read from `/proc`, `/sys`, `/etc` and the package database.
//! Every read is bounded and tolerates a missing or garbled file (the fact is then absent).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use steward_proto::agent::{
    Display, HardwareInfo, InstalledApp, Inventory, MemoryInfo, NetworkInfo, NetworkInterface,
    SoftwareInfo, Telemetry,
};

use super::Platform;

/// Largest small file read (a sysfs value, os-release, cpuinfo).
const SMALL: u64 = 256 * 1024;
/// Largest package database read.
const LARGE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct LinuxConfig {
    /// The file system root to read from: `/`, or a fixture tree in tests.
    pub root: PathBuf,
    /// A fixed location to report, where the operator configured one.
    pub location: Option<(f64, f64)>,
    pub agent_version: String,
}

impl Default for LinuxConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            location: None,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

pub struct LinuxPlatform {
    config: LinuxConfig,
    /// The previous `/proc/stat` sample (busy, total jiffies), for CPU use between calls.
    cpu: Mutex<Option<(u64, u64)>>,
}

impl LinuxPlatform {
    pub fn new(config: LinuxConfig) -> Self {
        Self {
            config,
            cpu: Mutex::new(None),
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.config.root.join(relative.trim_start_matches('/'))
    }

    fn read(&self, relative: &str) -> Option<String> {
        read_capped(&self.path(relative), SMALL)
    }

    fn value(&self, relative: &str) -> Option<String> {
        self.read(relative)
            .map(|v| v.trim().trim_matches('\0').to_string())
            .filter(|v| !v.is_empty() && v != "To be filled by O.E.M." && v != "Default string")
    }

    fn storage(&self) -> (Option<u64>, Option<u64>) {
        // std has no statvfs; df is on every Linux that has a shell, and failing is harmless.
        let output = Command::new("df")
            .arg("-Pk")
            .arg(&self.config.root)
            .output();
        match output {
            Ok(out) if out.status.success() => parse_df(&String::from_utf8_lossy(&out.stdout)),
            _ => (None, None),
        }
    }

    fn interfaces(&self) -> Vec<NetworkInterface> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.path("sys/class/net")) else {
            return out;
        };
        let ipv6 = self
            .read("proc/net/if_inet6")
            .map(|t| parse_if_inet6(&t))
            .unwrap_or_default();
        let ipv4 = ipv4_addresses();
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n != "lo")
            .collect();
        names.sort();
        for name in names {
            let base = format!("sys/class/net/{name}");
            let mut addresses: Vec<String> = ipv4.get(&name).cloned().unwrap_or_default();
            addresses.extend(ipv6.get(&name).cloned().unwrap_or_default());
            out.push(NetworkInterface {
                mac_address: self.value(&format!("{base}/address")),
                is_up: self.value(&format!("{base}/operstate")).as_deref() == Some("up"),
                is_wireless: self.path(&format!("{base}/wireless")).exists(),
                addresses,
                name,
            });
        }
        out
    }

    fn displays(&self) -> Vec<Display> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.path("sys/class/drm")) else {
            return out;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("card") && n.contains('-'))
            .collect();
        names.sort();
        for name in names {
            let base = format!("sys/class/drm/{name}");
            let connected = self.value(&format!("{base}/status")).as_deref() == Some("connected");
            let mode = self
                .read(&format!("{base}/modes"))
                .and_then(|m| m.lines().next().and_then(parse_mode));
            out.push(Display {
                name: name
                    .split_once('-')
                    .map(|(_, n)| n.to_string())
                    .unwrap_or(name.clone()),
                width: mode.map(|m| m.0),
                height: mode.map(|m| m.1),
                connected,
            });
        }
        out
    }

    fn battery(&self) -> (Option<f64>, Option<f64>, Option<bool>) {
        let Ok(entries) = std::fs::read_dir(self.path("sys/class/power_supply")) else {
            return (None, None, None);
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let base = format!(
                "sys/class/power_supply/{}",
                entry.file_name().to_string_lossy()
            );
            if self.value(&format!("{base}/type")).as_deref() != Some("Battery") {
                continue;
            }
            let level = self
                .value(&format!("{base}/capacity"))
                .and_then(|v| v.parse().ok());
            let temp = self
                .value(&format!("{base}/temp"))
                .and_then(|v| v.parse::<f64>().ok())
                .map(|t| t / 10.0);
            let charging = self
                .value(&format!("{base}/status"))
                .map(|s| s == "Charging" || s == "Full");
            return (level, temp, charging);
        }
        (None, None, None)
    }

    fn temperature(&self) -> Option<f64> {
        let entries = std::fs::read_dir(self.path("sys/class/thermal")).ok()?;
        entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
            .filter_map(|e| {
                let zone = format!("sys/class/thermal/{}/temp", e.file_name().to_string_lossy());
                self.value(&zone)?.parse::<f64>().ok().map(|m| m / 1000.0)
            })
            .fold(None, |max: Option<f64>, t| {
                Some(max.map_or(t, |m| m.max(t)))
            })
    }

    fn timezone(&self) -> Option<String> {
        self.value("etc/timezone").or_else(|| {
            let target = std::fs::read_link(self.path("etc/localtime")).ok()?;
            let text = target.to_string_lossy().to_string();
            text.split_once("zoneinfo/")
                .map(|(_, zone)| zone.to_string())
        })
    }
}

fn read_capped(path: &Path, cap: u64) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(cap).read_to_string(&mut text).ok()?;
    Some(text)
}

/// `MemTotal` and `MemAvailable` in MB.
pub fn parse_meminfo(text: &str) -> (Option<u64>, Option<u64>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kb| kb / 1024)
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// `NAME`/`PRETTY_NAME` and `VERSION_ID` of os-release.
pub fn parse_os_release(text: &str) -> (Option<String>, Option<String>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(|v| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    };
    (
        field("PRETTY_NAME").or_else(|| field("NAME")),
        field("VERSION_ID"),
    )
}

/// CPU model, core count, and the board's serial/hardware lines (ARM boards).
pub fn parse_cpuinfo(text: &str) -> (Option<String>, Option<u32>, Option<String>, Option<String>) {
    let value = |line: &str| line.split_once(':').map(|(_, v)| v.trim().to_string());
    let mut model = None;
    let mut cores = 0u32;
    let mut serial = None;
    let mut hardware = None;
    for line in text.lines() {
        let key = line.split(':').next().unwrap_or("").trim();
        match key {
            "model name" | "Model" if model.is_none() => model = value(line),
            "processor" => cores += 1,
            "Serial" => serial = value(line).filter(|s| !s.trim_start_matches('0').is_empty()),
            "Hardware" => hardware = value(line),
            _ => {}
        }
    }
    (model, (cores > 0).then_some(cores), serial, hardware)
}

/// Installed Debian packages from dpkg's status file.
pub fn parse_dpkg_status(text: &str) -> Vec<InstalledApp> {
    let mut apps = Vec::new();
    for stanza in text.split("\n\n") {
        let mut package = None;
        let mut version = None;
        let mut description = None;
        let mut installed = false;
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                package = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.split_whitespace().last() == Some("installed");
            } else if let Some(v) = line.strip_prefix("Description: ") {
                description = Some(v.trim().to_string());
            }
        }
        if let (Some(package), true) = (package, installed) {
            apps.push(InstalledApp {
                app_name: description.unwrap_or_else(|| package.clone()),
                package_name: package,
                version_name: version,
                version_code: None,
            });
        }
    }
    apps
}

/// Installed Alpine packages (`P:` name, `V:` version).
pub fn parse_apk_installed(text: &str) -> Vec<InstalledApp> {
    text.split("\n\n")
        .filter_map(|stanza| {
            let field = |p: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(p))
                    .map(str::to_string)
            };
            let name = field("P:")?;
            Some(InstalledApp {
                app_name: field("T:").unwrap_or_else(|| name.clone()),
                package_name: name,
                version_name: field("V:"),
                version_code: None,
            })
        })
        .collect()
}

/// Busy and total jiffies from the `cpu` line of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    if values.len() < 4 {
        return None;
    }
    let total: u64 = values.iter().sum();
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// Received and sent bytes over every interface but loopback.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    text.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim() != "lo")
        .fold((0, 0), |(rx, tx), (_, rest)| {
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (
                rx + f.first().copied().unwrap_or(0),
                tx + f.get(8).copied().unwrap_or(0),
            )
        })
}

/// Signal level (dBm) per wireless interface from `/proc/net/wireless`.
pub fn parse_wireless(text: &str) -> HashMap<String, i32> {
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let level = rest
                .split_whitespace()
                .nth(2)?
                .trim_end_matches('.')
                .parse::<f64>()
                .ok()?;
            Some((name.trim().to_string(), level as i32))
        })
        .collect()
}

/// IPv6 addresses per interface from `/proc/net/if_inet6`.
pub fn parse_if_inet6(text: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[0].len() != 32 {
            continue;
        }
        let groups: Vec<String> = (0..8)
            .filter_map(|i| u16::from_str_radix(&f[0][i * 4..i * 4 + 4], 16).ok())
            .map(|g| format!("{g:x}"))
            .collect();
        if groups.len() == 8 {
            let address: std::net::Ipv6Addr = match groups.join(":").parse() {
                Ok(a) => a,
                Err(_) => continue,
            };
            out.entry(f[5].to_string())
                .or_default()
                .push(address.to_string());
        }
    }
    out
}

/// IPv4 addresses per interface, from `ip -o -4 addr` where iproute2 is installed.
fn ipv4_addresses() -> HashMap<String, Vec<String>> {
    let Ok(out) = Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
    else {
        return HashMap::new();
    };
    parse_ip_addr(&String::from_utf8_lossy(&out.stdout))
}

pub fn parse_ip_addr(text: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = f.iter().position(|w| *w == "inet")
            && f.len() > i + 1
            && f.len() > 1
        {
            let address = f[i + 1].split('/').next().unwrap_or("").to_string();
            out.entry(f[1].trim_end_matches(':').to_string())
                .or_default()
                .push(address);
        }
    }
    out
}

/// Total and available MB of the file system, from `df -Pk`.
pub fn parse_df(text: &str) -> (Option<u64>, Option<u64>) {
    let Some(line) = text.lines().nth(1) else {
        return (None, None);
    };
    let f: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (f.first().map(|kb| kb / 1024), f.get(2).map(|kb| kb / 1024))
}

/// `1920x1080` → (1920, 1080).
pub fn parse_mode(line: &str) -> Option<(u32, u32)> {
    let (w, h) = line.trim().split_once('x')?;
    Some((
        w.parse().ok()?,
        h.trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?,
    ))
}

impl Platform for LinuxPlatform {
    fn inventory(&self) -> Inventory {
        let (cpu_model, cpu_cores, cpu_serial, cpu_hardware) = self
            .read("proc/cpuinfo")
            .map(|t| parse_cpuinfo(&t))
            .unwrap_or_default();
        let (total_ram_mb, _) = self
            .read("proc/meminfo")
            .map(|t| parse_meminfo(&t))
            .unwrap_or_default();
        let (os_name, os_version) = self
            .read("etc/os-release")
            .map(|t| parse_os_release(&t))
            .unwrap_or_default();
        let manufacturer = self.value("sys/class/dmi/id/sys_vendor").or(cpu_hardware);
        let model = self
            .value("sys/class/dmi/id/product_name")
            .or_else(|| self.value("proc/device-tree/model"));
        let (total_storage_mb, _) = self.storage();
        let interfaces = self.interfaces();
        let wireless = self
            .read("proc/net/wireless")
            .map(|t| parse_wireless(&t))
            .unwrap_or_default();
        Inventory {
            hardware: HardwareInfo {
                brand: manufacturer.clone(),
                manufacturer,
                model,
                serial_number: self.value("sys/class/dmi/id/product_serial").or(cpu_serial),
                imei: None,
                cpu_model,
                cpu_cores,
                architecture: Some(std::env::consts::ARCH.to_string()),
                total_ram_mb,
            },
            software: SoftwareInfo {
                platform: Some("LINUX".to_string()),
                os_name,
                os_version,
                kernel_version: self.value("proc/sys/kernel/osrelease"),
                agent_version: Some(self.config.agent_version.clone()),
                hostname: self
                    .value("proc/sys/kernel/hostname")
                    .or_else(|| self.value("etc/hostname")),
                timezone: self.timezone(),
                locale: std::env::var("LC_ALL")
                    .or_else(|_| std::env::var("LANG"))
                    .ok(),
                api_level: None,
            },
            network: NetworkInfo {
                interfaces,
                wifi_ssid: None,
                wifi_signal_strength: wireless.values().next().copied(),
                wifi_link_speed: None,
            },
            memory: MemoryInfo {
                total_ram_mb,
                // Availability changes all the time: it goes with telemetry, not inventory.
                available_ram_mb: None,
                total_storage_mb,
                available_storage_mb: None,
            },
            displays: self.displays(),
        }
    }

    fn apps(&self) -> Vec<InstalledApp> {
        if let Some(text) = read_capped(&self.path("var/lib/dpkg/status"), LARGE) {
            return parse_dpkg_status(&text);
        }
        read_capped(&self.path("lib/apk/db/installed"), LARGE)
            .map(|t| parse_apk_installed(&t))
            .unwrap_or_default()
    }

    fn telemetry(&self) -> Telemetry {
        let (battery_level, battery_temperature, battery_charging) = self.battery();
        let (memory_total_mb, memory_available_mb) = self
            .read("proc/meminfo")
            .map(|t| parse_meminfo(&t))
            .unwrap_or_default();
        let (storage_total_mb, storage_available_mb) = self.storage();
        let (rx, tx) = self
            .read("proc/net/dev")
            .map(|t| parse_net_dev(&t))
            .unwrap_or_default();
        let cpu_percent = self
            .read("proc/stat")
            .and_then(|t| parse_proc_stat(&t))
            .and_then(|now| {
                let mut previous = self.cpu.lock().ok()?;
                let (busy0, total0) = previous.replace(now).unwrap_or((0, 0));
                let total = now.1.saturating_sub(total0);
                (total > 0).then(|| (now.0.saturating_sub(busy0)) as f64 * 100.0 / total as f64)
            });
        let wireless = self
            .read("proc/net/wireless")
            .map(|t| parse_wireless(&t))
            .unwrap_or_default();
        Telemetry {
            battery_level,
            battery_temperature,
            battery_charging,
            cpu_percent,
            temperature: self.temperature(),
            memory_total_mb,
            memory_available_mb,
            storage_total_mb,
            storage_available_mb,
            data_download_bytes: Some(rx),
            data_upload_bytes: Some(tx),
            wifi_signal_strength: wireless.values().next().copied(),
            wifi_link_speed: None,
            latitude: self.config.location.map(|l| l.0),
            longitude: self.config.location.map(|l| l.1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(
            parse_meminfo("MemTotal:  2048000 kB\nMemFree: 1 kB\nMemAvailable:  1024000 kB\n"),
            (Some(2000), Some(1000))
        );
        assert_eq!(
            parse_os_release(
                "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n"
            ),
            (
                Some("Debian GNU/Linux 12 (bookworm)".into()),
                Some("12".into())
            )
        );
        let (model, cores, serial, hardware) = parse_cpuinfo(
            "processor\t: 0\nmodel name\t: ARMv8 Processor\nprocessor\t: 1\nHardware\t: BCM2835\nSerial\t\t: 10000000abcdef01\n",
        );
        assert_eq!(
            (
                model.as_deref(),
                cores,
                serial.as_deref(),
                hardware.as_deref()
            ),
            (
                Some("ARMv8 Processor"),
                Some(2),
                Some("10000000abcdef01"),
                Some("BCM2835")
            )
        );
        let apps = parse_dpkg_status(
            "Package: bash\nStatus: install ok installed\nVersion: 5.2-2\nDescription: GNU Bourne Again SHell\n more\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n",
        );
        assert_eq!(apps.len(), 1);
        assert_eq!(
            (
                apps[0].package_name.as_str(),
                apps[0].version_name.as_deref(),
                apps[0].app_name.as_str()
            ),
            ("bash", Some("5.2-2"), "GNU Bourne Again SHell")
        );
        assert_eq!(
            parse_apk_installed("P:musl\nV:1.2.4\n\nP:busybox\nV:1.36\n").len(),
            2
        );
        assert_eq!(
            parse_proc_stat("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n"),
            Some((200, 1000))
        );
        let dev = "Inter-|   Receive\n face |bytes packets\n    lo: 500 1 0 0 0 0 0 0 500 1 0 0 0 0 0 0\n  eth0: 1000 2 0 0 0 0 0 0 300 1 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(dev), (1000, 300));
        let wl = "Inter-| sta-|   Quality        |   Discarded\n face | tus | link level noise |  nwid\n wlan0: 0000   54.  -56.  -256        0\n";
        assert_eq!(parse_wireless(wl).get("wlan0"), Some(&-56));
        let v6 = parse_if_inet6("fe800000000000000000000000000001 02 40 20 80 eth0\n");
        assert_eq!(v6.get("eth0").unwrap()[0], "fe80::1");
        let v4 = parse_ip_addr("2: eth0    inet 10.1.2.3/24 brd 10.1.2.255 scope global eth0\n");
        assert_eq!(v4.get("eth0").unwrap()[0], "10.1.2.3");
        assert_eq!(
            parse_df(
                "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 2048000 1024000 1024000 50% /\n"
            ),
            (Some(2000), Some(1000))
        );
        assert_eq!(parse_mode("1920x1080\n"), Some((1920, 1080)));
        assert_eq!(parse_mode("garbage"), None);
    }

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_fixture_root_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/dmi/id/sys_vendor", "Elo Touch Solutions\n");
        write(root, "sys/class/dmi/id/product_name", "I-Series 4\n");
        write(
            root,
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12\"\nVERSION_ID=\"12\"\n",
        );
        write(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
        write(root, "proc/sys/kernel/hostname", "till-7\n");
        write(root, "etc/timezone", "Europe/Berlin\n");
        write(
            root,
            "proc/meminfo",
            "MemTotal: 4096000 kB\nMemAvailable: 2048000 kB\n",
        );
        write(root, "sys/class/net/eth0/address", "02:00:00:aa:bb:cc\n");
        write(root, "sys/class/net/eth0/operstate", "up\n");
        write(root, "sys/class/drm/card0-HDMI-A-1/status", "connected\n");
        write(
            root,
            "sys/class/drm/card0-HDMI-A-1/modes",
            "1920x1080\n1280x720\n",
        );
        write(root, "sys/class/power_supply/BAT0/type", "Battery\n");
        write(root, "sys/class/power_supply/BAT0/capacity", "81\n");
        write(root, "sys/class/power_supply/BAT0/status", "Charging\n");
        write(root, "sys/class/thermal/thermal_zone0/temp", "45500\n");
        write(root, "proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
        write(
            root,
            "var/lib/dpkg/status",
            "Package: kiosk\nStatus: install ok installed\nVersion: 1.0\n",
        );
        let p = LinuxPlatform::new(LinuxConfig {
            root: root.to_path_buf(),
            location: Some((52.5, 13.4)),
            agent_version: "9.9".into(),
        });
        let inv = p.inventory();
        assert_eq!(
            inv.hardware.manufacturer.as_deref(),
            Some("Elo Touch Solutions")
        );
        assert_eq!(inv.hardware.model.as_deref(), Some("I-Series 4"));
        assert_eq!(inv.software.os_version.as_deref(), Some("12"));
        assert_eq!(inv.software.hostname.as_deref(), Some("till-7"));
        assert_eq!(inv.software.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(inv.software.agent_version.as_deref(), Some("9.9"));
        assert_eq!(inv.memory.total_ram_mb, Some(4000));
        assert_eq!(
            inv.network.interfaces[0].mac_address.as_deref(),
            Some("02:00:00:aa:bb:cc")
        );
        assert!(inv.network.interfaces[0].is_up);
        assert_eq!(inv.displays[0].width, Some(1920));
        assert_eq!(p.apps()[0].package_name, "kiosk");
        let t = p.telemetry();
        assert_eq!(
            (t.battery_level, t.battery_charging),
            (Some(81.0), Some(true))
        );
        assert_eq!(t.temperature, Some(45.5));
        assert_eq!(t.cpu_percent, Some(20.0));
        assert_eq!((t.latitude, t.longitude), (Some(52.5), Some(13.4)));
        assert_eq!(t.memory_available_mb, Some(2000));
    }

    #[test]
    fn this_machine_reads_without_panicking() {
        let p = LinuxPlatform::new(LinuxConfig::default());
        let inv = p.inventory();
        assert_eq!(inv.software.platform.as_deref(), Some("LINUX"));
        assert!(inv.software.kernel_version.is_some());
        let _ = p.apps();
        let _ = p.telemetry();
        let second = p.telemetry();
        assert!(
            second
                .cpu_percent
                .is_none_or(|c| (0.0..=100.0).contains(&c))
        );
    }
}
