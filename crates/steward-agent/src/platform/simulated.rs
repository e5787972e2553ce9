//! Made-up but plausible devices for load tests: each index gives the same device every time,
//! and a fleet of them varies in maker, model, OS, network and apps. A device is a few dozen
//! bytes; everything else is derived from its index on demand.

use std::sync::Mutex;

use steward_proto::agent::{
    Display, HardwareInfo, InstalledApp, Inventory, MemoryInfo, NetworkInfo, NetworkInterface,
    SoftwareInfo, Telemetry,
};

use super::Platform;

/// (manufacturer, model, platform, has a battery, has a screen, has a modem)
const MODELS: [(&str, &str, &str, bool, bool, bool); 8] = [
    ("Elo Touch", "I-Series 4", "ANDROID", false, true, false),
    ("Zebra", "ET40", "ANDROID", true, true, true),
    (
        "Raspberry Pi Foundation",
        "Raspberry Pi 4 Model B",
        "LINUX",
        false,
        true,
        false,
    ),
    (
        "Dell",
        "OptiPlex 3000 Thin Client",
        "LINUX",
        false,
        true,
        false,
    ),
    ("Advantech", "UTC-520", "LINUX", false, true, false),
    ("Samsung", "QM55B", "LINUX", false, true, false),
    ("Honeywell", "CT45", "ANDROID", true, true, true),
    ("Lenovo", "ThinkCentre M70q", "LINUX", false, false, false),
];

const LINUX_OS: [(&str, &str); 3] = [
    ("Debian GNU/Linux 12 (bookworm)", "12"),
    ("Ubuntu 22.04.4 LTS", "22.04"),
    ("Ubuntu 24.04.1 LTS", "24.04"),
];

const ANDROID_OS: [(&str, &str, u32); 2] = [("Android 13", "13", 33), ("Android 14", "14", 34)];

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Chicago",
    "Asia/Singapore",
    "Australia/Sydney",
];

const PACKAGES: [(&str, &str); 40] = [
    ("bash", "5.2.15"),
    ("coreutils", "9.1"),
    ("openssl", "3.0.13"),
    ("curl", "7.88.1"),
    ("chromium", "120.0.6099"),
    ("cage", "0.1.5"),
    ("xorg", "7.7"),
    ("pulseaudio", "16.1"),
    ("cups", "2.4.2"),
    ("network-manager", "1.42.4"),
    ("wpasupplicant", "2.10"),
    ("openssh-server", "9.2"),
    ("python3", "3.11.2"),
    ("nodejs", "18.19.0"),
    ("vlc", "3.0.20"),
    ("mpv", "0.35.1"),
    ("fonts-dejavu", "2.37"),
    ("tzdata", "2024a"),
    ("ca-certificates", "20230311"),
    ("systemd", "252.22"),
    ("kiosk-browser", "2.4.0"),
    ("pos-terminal", "5.1.3"),
    ("signage-player", "3.8.2"),
    ("receipt-printer-driver", "1.9"),
    ("barcode-scanner", "2.2.1"),
    ("payment-bridge", "4.0.7"),
    ("inventory-sync", "1.12.0"),
    ("remote-support", "7.3"),
    ("com.android.chrome", "120.0"),
    ("com.zebra.datawedge", "11.3"),
    ("com.esper.dpc", "7.0.4"),
    ("com.google.android.gms", "23.45"),
    ("com.acme.pos", "5.1.3"),
    ("com.acme.kiosk", "2.4.0"),
    ("com.acme.scanner", "2.2.1"),
    ("com.acme.timeclock", "1.0.9"),
    ("unattended-upgrades", "2.9.1"),
    ("chrony", "4.3"),
    ("rsyslog", "8.2302"),
    ("logrotate", "3.21"),
];

/// SplitMix64: a fixed, well-mixed hash of the index (no dependency, same on every build).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn pick(seed: u64, salt: u64, n: usize) -> usize {
    (mix(seed ^ salt.wrapping_mul(0x1000_0000_01B3)) % n as u64) as usize
}

/// A 15-digit IMEI with a valid Luhn check digit.
fn imei(seed: u64) -> String {
    let body = format!("35{:012}", mix(seed ^ 0x1EE1) % 1_000_000_000_000);
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// The parts of a reading that evolve between calls.
#[derive(Debug)]
struct Evolving {
    calls: u32,
    battery: f32,
    data_down: u64,
}

#[derive(Debug)]
pub struct SimulatedPlatform {
    index: u64,
    state: Mutex<Evolving>,
}

impl SimulatedPlatform {
    pub fn new(index: u64) -> Self {
        Self {
            index,
            state: Mutex::new(Evolving {
                calls: 0,
                battery: 40.0 + (mix(index) % 60) as f32,
                data_down: mix(index ^ 7) % 1_000_000_000,
            }),
        }
    }

    fn model(&self) -> (&'static str, &'static str, &'static str, bool, bool, bool) {
        MODELS[pick(self.index, 1, MODELS.len())]
    }
}

impl Platform for SimulatedPlatform {
    fn inventory(&self) -> Inventory {
        let i = self.index;
        let (maker, model, platform, _, screen, modem) = self.model();
        let ram_mb = [2048u64, 4096, 8192][pick(i, 2, 3)];
        let storage_mb = [16_384u64, 32_768, 65_536, 131_072][pick(i, 3, 4)];
        let (os_name, os_version, api_level) = if platform == "ANDROID" {
            let (n, v, l) = ANDROID_OS[pick(i, 4, ANDROID_OS.len())];
            (n, v, Some(l))
        } else {
            let (n, v) = LINUX_OS[pick(i, 4, LINUX_OS.len())];
            (n, v, None)
        };
        let wifi = pick(i, 5, 3) == 0 || modem;
        let mac = |n: u64| {
            let b = (i << 8 | n).to_be_bytes();
            format!(
                "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                b[3], b[4], b[5], b[6], b[7]
            )
        };
        let ip = format!(
            "10.{}.{}.{}",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            (i & 0xff).max(1)
        );
        let mut interfaces = vec![NetworkInterface {
            name: if wifi { "wlan0".into() } else { "eth0".into() },
            mac_address: Some(mac(1)),
            addresses: vec![ip],
            is_up: true,
            is_wireless: wifi,
        }];
        if pick(i, 6, 4) == 0 {
            interfaces.push(NetworkInterface {
                name: "eth1".into(),
                mac_address: Some(mac(2)),
                addresses: Vec::new(),
                is_up: false,
                is_wireless: false,
            });
        }
        Inventory {
            hardware: HardwareInfo {
                manufacturer: Some(maker.into()),
                model: Some(model.into()),
                brand: Some(maker.into()),
                serial_number: Some(format!("SIM{:08}{}", i, (b'A' + (i % 26) as u8) as char)),
                imei: modem.then(|| imei(i)),
                cpu_model: Some(
                    if platform == "ANDROID" {
                        "ARMv8 Processor rev 4"
                    } else {
                        "Cortex-A72"
                    }
                    .into(),
                ),
                cpu_cores: Some([2u32, 4, 8][pick(i, 7, 3)]),
                architecture: Some("aarch64".into()),
                total_ram_mb: Some(ram_mb),
            },
            software: SoftwareInfo {
                platform: Some(platform.into()),
                os_name: Some(os_name.into()),
                os_version: Some(os_version.into()),
                kernel_version: Some("6.1.0-sim".into()),
                agent_version: Some(env!("CARGO_PKG_VERSION").into()),
                hostname: Some(format!("sim-{i}")),
                timezone: Some(ZONES[pick(i, 8, ZONES.len())].into()),
                locale: Some("en_US.UTF-8".into()),
                api_level,
            },
            network: NetworkInfo {
                interfaces,
                wifi_ssid: wifi.then(|| format!("Store-{}", i % 500)),
                wifi_signal_strength: wifi.then(|| -45 - (mix(i ^ 9) % 36) as i32),
                wifi_link_speed: wifi.then_some(72),
            },
            memory: MemoryInfo {
                total_ram_mb: Some(ram_mb),
                available_ram_mb: None,
                total_storage_mb: Some(storage_mb),
                available_storage_mb: None,
            },
            displays: if screen {
                vec![Display {
                    name: "HDMI-A-1".into(),
                    width: Some(1920),
                    height: Some(1080),
                    connected: true,
                }]
            } else {
                Vec::new()
            },
        }
    }

    fn apps(&self) -> Vec<InstalledApp> {
        let count = 5 + pick(self.index, 10, 36);
        let start = pick(self.index, 11, PACKAGES.len());
        (0..count)
            .map(|k| {
                let (name, version) = PACKAGES[(start + k) % PACKAGES.len()];
                // A few devices lag one release behind.
                let version = if pick(self.index, 12 + k as u64, 10) == 0 {
                    format!("{version}~old")
                } else {
                    version.to_string()
                };
                InstalledApp {
                    package_name: name.into(),
                    app_name: name.into(),
                    version_name: Some(version),
                    version_code: None,
                }
            })
            .collect()
    }

    fn telemetry(&self) -> Telemetry {
        let i = self.index;
        let (_, _, _, battery, _, modem) = self.model();
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.calls = state.calls.wrapping_add(1);
        let jitter = mix(i ^ u64::from(state.calls));
        if battery {
            // Drains while working, charges in the cradle.
            state.battery += if state.calls % 20 < 14 { -1.5 } else { 3.0 };
            state.battery = state.battery.clamp(5.0, 100.0);
        }
        state.data_down += 50_000 + jitter % 2_000_000;
        let inv_ram = [2048u64, 4096, 8192][pick(i, 2, 3)];
        let inv_storage = [16_384u64, 32_768, 65_536, 131_072][pick(i, 3, 4)];
        Telemetry {
            battery_level: battery.then_some(f64::from(state.battery.round())),
            battery_temperature: battery.then(|| 25.0 + (jitter % 150) as f64 / 10.0),
            battery_charging: battery.then_some(state.calls % 20 >= 14),
            cpu_percent: Some(1.0 + (jitter % 590) as f64 / 10.0),
            temperature: Some(35.0 + (jitter % 350) as f64 / 10.0),
            memory_total_mb: Some(inv_ram),
            memory_available_mb: Some(inv_ram / 4 + jitter % (inv_ram / 2)),
            storage_total_mb: Some(inv_storage),
            storage_available_mb: Some(inv_storage / 3 + (jitter >> 8) % (inv_storage / 3)),
            data_download_bytes: Some(state.data_down),
            data_upload_bytes: Some(state.data_down / 7),
            wifi_signal_strength: (modem || pick(i, 5, 3) == 0).then(|| -45 - (jitter % 36) as i32),
            wifi_link_speed: None,
            latitude: None,
            longitude: None,
        }
    }

    fn is_cheap(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn luhn_ok(s: &str) -> bool {
        let sum: u32 = s
            .chars()
            .rev()
            .enumerate()
            .map(|(i, c)| {
                let d = c.to_digit(10).unwrap();
                if i % 2 == 1 {
                    let dd = d * 2;
                    if dd > 9 { dd - 9 } else { dd }
                } else {
                    d
                }
            })
            .sum();
        sum.is_multiple_of(10)
    }

    #[test]
    fn deterministic_and_varied() {
        assert_eq!(
            SimulatedPlatform::new(42).inventory(),
            SimulatedPlatform::new(42).inventory()
        );
        assert_eq!(
            SimulatedPlatform::new(42).apps(),
            SimulatedPlatform::new(42).apps()
        );
        let fleet: Vec<Inventory> = (0..1000)
            .map(|i| SimulatedPlatform::new(i).inventory())
            .collect();
        let makers: HashSet<_> = fleet
            .iter()
            .map(|d| d.hardware.manufacturer.clone())
            .collect();
        assert!(makers.len() >= 5);
        let serials: HashSet<_> = fleet
            .iter()
            .map(|d| d.hardware.serial_number.clone())
            .collect();
        assert_eq!(serials.len(), 1000);
        let imeis: Vec<String> = fleet
            .iter()
            .filter_map(|d| d.hardware.imei.clone())
            .collect();
        assert!(!imeis.is_empty());
        assert!(
            imeis.iter().all(|i| i.len() == 15 && luhn_ok(i)),
            "{:?}",
            &imeis[..3]
        );
        let app_counts: HashSet<usize> = (0..100)
            .map(|i| SimulatedPlatform::new(i).apps().len())
            .collect();
        assert!(app_counts.len() > 5 && app_counts.iter().all(|n| (5..=40).contains(n)));
    }

    #[test]
    fn telemetry_moves_and_stays_in_range() {
        let p = (0..50)
            .map(SimulatedPlatform::new)
            .find(|p| p.model().3)
            .unwrap();
        let readings: Vec<Telemetry> = (0..30).map(|_| p.telemetry()).collect();
        let levels: HashSet<i64> = readings
            .iter()
            .filter_map(|t| t.battery_level.map(|l| l as i64))
            .collect();
        assert!(levels.len() > 3);
        for t in &readings {
            assert!((0.0..=100.0).contains(&t.cpu_percent.unwrap()));
            assert!((5.0..=100.0).contains(&t.battery_level.unwrap()));
            assert!(t.memory_available_mb.unwrap() <= t.memory_total_mb.unwrap());
        }
        assert!(readings[29].data_download_bytes > readings[0].data_download_bytes);
    }

    #[test]
    fn a_device_is_small() {
        assert!(std::mem::size_of::<SimulatedPlatform>() <= 64);
    }
}
