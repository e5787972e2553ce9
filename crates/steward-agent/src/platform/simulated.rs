//! Made-up but plausible devices for load tests: kiosks, POS terminals, signage players and
//! handhelds, varied across a fleet and the same every time for a given index.
//!
//! A device is a few dozen bytes (its index and the handful of numbers that evolve between
//! telemetry readings); its model, network, packages and so on are derived from the index on
//! demand, so 100,000 of them fit easily in one process. Devices are grouped in stores of
//! [`STORE_SIZE`]: a store shares a time zone, a Wi-Fi network and a /24 subnet.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::sync::{Mutex, PoisonError};

use steward_proto::agent::{
    Display, HardwareInfo, InstalledApp, Inventory, MemoryInfo, NetworkInfo, NetworkInterface,
    SoftwareInfo, Telemetry,
};

use super::{PackageChange, Platform};

/// Devices per store (one subnet, one SSID, one time zone).
pub const STORE_SIZE: u64 = 25;

const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One kind of hardware.
struct Model {
    maker: &'static str,
    name: &'static str,
    android: bool,
    /// Runs on a battery (a handheld); mains-powered otherwise.
    battery: bool,
    /// Type allocation code (the first 8 IMEI digits) of models with a cellular modem.
    tac: Option<&'static str>,
    arch: &'static str,
    cpu: &'static str,
    cores: u32,
    /// Connector name, width and height of the built-in or attached screen.
    display: Option<(&'static str, u32, u32)>,
}

const fn model(
    maker: &'static str,
    name: &'static str,
    android: bool,
    battery: bool,
    tac: Option<&'static str>,
    (arch, cpu, cores): (&'static str, &'static str, u32),
    display: Option<(&'static str, u32, u32)>,
) -> Model {
    Model {
        maker,
        name,
        android,
        battery,
        tac,
        arch,
        cpu,
        cores,
        display,
    }
}

const ARM_SD660: (&str, &str, u32) = ("aarch64", "Qualcomm Snapdragon 660", 8);
const ARM_QCM6490: (&str, &str, u32) = ("aarch64", "Qualcomm QCM6490", 8);

const MODELS: [Model; 13] = [
    model(
        "Elo Touch",
        "I-Series 4",
        true,
        false,
        None,
        ARM_SD660,
        Some(("DSI-1", 1920, 1080)),
    ),
    model(
        "Zebra",
        "ET40",
        true,
        true,
        None,
        ARM_QCM6490,
        Some(("DSI-1", 1920, 1200)),
    ),
    model(
        "Zebra",
        "TC58",
        true,
        true,
        Some("35209873"),
        ARM_QCM6490,
        Some(("DSI-1", 1080, 2160)),
    ),
    model(
        "Honeywell",
        "CT45 XP",
        true,
        true,
        Some("35388511"),
        ARM_SD660,
        Some(("DSI-1", 1080, 1920)),
    ),
    model(
        "Sunmi",
        "V2s",
        true,
        true,
        Some("86714605"),
        ("aarch64", "MediaTek Helio P35", 8),
        Some(("DSI-1", 720, 1440)),
    ),
    model(
        "Sunmi",
        "T2s",
        true,
        false,
        None,
        ("aarch64", "Qualcomm Snapdragon 450", 8),
        Some(("HDMI-A-1", 1920, 1080)),
    ),
    model(
        "Raspberry Pi Foundation",
        "Raspberry Pi 4 Model B",
        false,
        false,
        None,
        ("aarch64", "Cortex-A72", 4),
        Some(("HDMI-A-1", 1920, 1080)),
    ),
    model(
        "Dell",
        "OptiPlex 3000 Thin Client",
        false,
        false,
        None,
        ("x86_64", "Intel(R) Pentium(R) Silver N6005 @ 2.00GHz", 4),
        Some(("DP-1", 1920, 1080)),
    ),
    model(
        "Advantech",
        "UTC-520",
        false,
        false,
        None,
        ("x86_64", "Intel(R) Core(TM) i5-8365UE CPU @ 1.60GHz", 8),
        Some(("eDP-1", 1920, 1080)),
    ),
    model(
        "Samsung",
        "QM55B",
        false,
        false,
        None,
        ("aarch64", "Cortex-A72", 4),
        Some(("HDMI-A-1", 3840, 2160)),
    ),
    model(
        "HP",
        "Engage One Pro",
        false,
        false,
        None,
        ("x86_64", "Intel(R) Core(TM) i5-8500T CPU @ 2.10GHz", 6),
        Some(("eDP-1", 1920, 1080)),
    ),
    model(
        "ASUS",
        "NUC 12 Pro",
        false,
        false,
        None,
        ("x86_64", "12th Gen Intel(R) Core(TM) i5-1240P", 16),
        Some(("HDMI-A-1", 3840, 2160)),
    ),
    // A back-office gateway: no screen.
    model(
        "Lenovo",
        "ThinkCentre M70q Gen 4",
        false,
        false,
        None,
        ("x86_64", "13th Gen Intel(R) Core(TM) i5-13400T", 16),
        None,
    ),
];

/// (name, version, kernel prefix)
const LINUX_OS: [(&str, &str, &str); 3] = [
    ("Debian GNU/Linux 12 (bookworm)", "12", "6.1.0-25"),
    ("Ubuntu 22.04.4 LTS", "22.04", "5.15.0-119-generic"),
    ("Ubuntu 24.04.1 LTS", "24.04", "6.8.0-45-generic"),
];

/// (name, version, API level, kernel)
const ANDROID_OS: [(&str, &str, u32, &str); 2] = [
    ("Android 13", "13", 33, "5.10.198-android13-4"),
    ("Android 14", "14", 34, "5.15.137-android14-11"),
];

/// (zone, locale, latitude, longitude of the region's stores)
const REGIONS: [(&str, &str, f64, f64); 10] = [
    ("Europe/Berlin", "de_DE.UTF-8", 52.52, 13.40),
    ("Europe/London", "en_GB.UTF-8", 51.51, -0.13),
    ("Europe/Paris", "fr_FR.UTF-8", 48.86, 2.35),
    ("America/New_York", "en_US.UTF-8", 40.71, -74.01),
    ("America/Chicago", "en_US.UTF-8", 41.88, -87.63),
    ("America/Los_Angeles", "en_US.UTF-8", 34.05, -118.24),
    ("America/Sao_Paulo", "pt_BR.UTF-8", -23.55, -46.63),
    ("Asia/Singapore", "en_SG.UTF-8", 1.35, 103.82),
    ("Asia/Tokyo", "ja_JP.UTF-8", 35.68, 139.69),
    ("Australia/Sydney", "en_AU.UTF-8", -33.87, 151.21),
];

const RAM_MB: [u64; 5] = [2048, 3072, 4096, 6144, 8192];
const STORAGE_MB: [u64; 4] = [16_384, 32_768, 65_536, 131_072];
const WIFI_MBPS: [u32; 5] = [72, 144, 300, 433, 866];

/// Stands for the device's OS version in a package's versions.
const OS_VERSION: &str = "=os";

/// (package, name, versions): a device has one of the versions.
type Package = (&'static str, &'static str, &'static [&'static str]);

/// On every Linux device.
const LINUX_BASE: [Package; 5] = [
    (
        "base-files",
        "Debian base system miscellaneous files",
        &["12.4+deb12u7"],
    ),
    ("bash", "GNU Bourne Again SHell", &["5.2.15-2+b7"]),
    (
        "openssh-server",
        "secure shell (SSH) server",
        &["1:9.2p1-2+deb12u3"],
    ),
    ("steward-agent", "Steward device agent", &[AGENT_VERSION]),
    (
        "systemd",
        "system and service manager",
        &["252.30-1~deb12u2"],
    ),
];

/// On some Linux devices (a prime number of them, so any stride walks them all).
const LINUX_EXTRA: [Package; 43] = [
    (
        "acme-kiosk-browser",
        "Acme Kiosk Browser",
        &["2.4.0", "2.4.1", "2.5.0"],
    ),
    (
        "acme-pos-terminal",
        "Acme POS Terminal",
        &["5.1.3", "5.2.0"],
    ),
    (
        "acme-inventory-sync",
        "Acme Inventory Sync",
        &["1.12.0", "1.13.2"],
    ),
    (
        "signage-player",
        "Digital signage player",
        &["3.8.2", "3.9.0", "4.0.1"],
    ),
    (
        "receipt-printer-driver",
        "ESC/POS receipt printer driver",
        &["1.9.2"],
    ),
    (
        "payment-bridge",
        "Payment terminal bridge",
        &["4.0.7", "4.1.0"],
    ),
    ("avahi-daemon", "Avahi mDNS/DNS-SD daemon", &["0.8-10"]),
    ("bluez", "Bluetooth tools and daemons", &["5.66-1+deb12u2"]),
    ("ca-certificates", "Common CA certificates", &["20230311"]),
    ("cage", "Kiosk compositor for Wayland", &["0.1.4-4"]),
    (
        "chromium",
        "web browser",
        &["128.0.6613.137-1~deb12u1", "129.0.6668.58-1~deb12u1"],
    ),
    (
        "chrony",
        "Versatile implementation of the Network Time Protocol",
        &["4.3-2+deb12u1"],
    ),
    ("cron", "process scheduling daemon", &["3.0pl1-162"]),
    (
        "cups",
        "Common UNIX Printing System(tm) - PPD/driver support, web interface",
        &["2.4.2-3+deb12u7"],
    ),
    (
        "curl",
        "command line tool for transferring data with URL syntax",
        &["7.88.1-10+deb12u7"],
    ),
    (
        "ffmpeg",
        "Tools for transcoding, streaming and playing of multimedia files",
        &["7:5.1.6-0+deb12u1"],
    ),
    (
        "firefox-esr",
        "Mozilla Firefox web browser - Extended Support Release (ESR)",
        &["115.15.0esr-1~deb12u1", "128.3.0esr-1~deb12u1"],
    ),
    (
        "fonts-dejavu-core",
        "Vera font family derivate with additional characters",
        &["2.37-6"],
    ),
    (
        "fonts-noto-color-emoji",
        "color emoji font from Google",
        &["2.042-0+deb12u1"],
    ),
    (
        "gstreamer1.0-plugins-good",
        "GStreamer plugins from the \"good\" set",
        &["1.22.0-5+deb12u1"],
    ),
    ("htop", "interactive processes viewer", &["3.2.2-2"]),
    (
        "jq",
        "lightweight and flexible command-line JSON processor",
        &["1.6-2.1"],
    ),
    (
        "less",
        "pager program similar to more",
        &["590-2.1~deb12u2"],
    ),
    ("logrotate", "Log rotation utility", &["3.21.0-1"]),
    (
        "modemmanager",
        "D-Bus service for managing modems",
        &["1.20.4-1"],
    ),
    (
        "mpv",
        "video player based on MPlayer/mplayer2",
        &["0.35.1-4"],
    ),
    (
        "network-manager",
        "network management framework (daemon and userspace tools)",
        &["1.42.4-1"],
    ),
    (
        "nftables",
        "Program to control packet filtering rules by Netfilter project",
        &["1.0.6-2+deb12u2"],
    ),
    (
        "nodejs",
        "evented I/O for V8 javascript - runtime executable",
        &["18.19.0+dfsg-6~deb12u2"],
    ),
    (
        "openssl",
        "Secure Sockets Layer toolkit - cryptographic utility",
        &["3.0.14-1~deb12u2"],
    ),
    (
        "pipewire",
        "audio and video processing engine multimedia server",
        &["0.3.65-3+deb12u1"],
    ),
    (
        "python3",
        "interactive high-level object-oriented language (default python3 version)",
        &["3.11.2-1+b1"],
    ),
    (
        "rsyslog",
        "reliable system and kernel logging daemon",
        &["8.2302.0-1"],
    ),
    (
        "sqlite3",
        "Command line interface for SQLite 3",
        &["3.40.1-2+deb12u1"],
    ),
    (
        "sudo",
        "Provide limited super user privileges to specific users",
        &["1.9.13p3-1+deb12u1"],
    ),
    (
        "tzdata",
        "time zone and daylight-saving time data",
        &["2024a-0+deb12u1", "2024b-0+deb12u1"],
    ),
    (
        "unattended-upgrades",
        "automatic installation of security upgrades",
        &["2.9.1+nmu3"],
    ),
    (
        "unclutter",
        "hides the mouse cursor in X after a period of inactivity",
        &["8-25"],
    ),
    ("usbutils", "Linux USB utilities", &["1:014-1+deb12u1"]),
    (
        "vim-tiny",
        "Vi IMproved - enhanced vi editor - compact version",
        &["2:9.0.1378-2"],
    ),
    (
        "vlc",
        "multimedia player and streamer",
        &["3.0.21-0+deb12u1"],
    ),
    (
        "wireguard-tools",
        "fast, modern, secure kernel VPN tunnel (userland utilities)",
        &["1.0.20210914-1+b1"],
    ),
    (
        "wpasupplicant",
        "client support for WPA and WPA2 (IEEE 802.11i)",
        &["2:2.10-12+deb12u2"],
    ),
];

/// On every Android device.
const ANDROID_BASE: [Package; 4] = [
    ("com.android.settings", "Settings", &[OS_VERSION]),
    ("com.android.systemui", "System UI", &[OS_VERSION]),
    (
        "com.google.android.webview",
        "Android System WebView",
        &["128.0.6613.146", "129.0.6668.70"],
    ),
    ("com.steward.agent", "Steward Agent", &[AGENT_VERSION]),
];

/// On some Android devices (a prime number of them).
const ANDROID_EXTRA: [Package; 41] = [
    ("com.acme.pos", "Acme POS", &["5.1.3", "5.2.0"]),
    ("com.acme.kiosk", "Acme Kiosk", &["2.4.0", "2.4.1", "2.5.0"]),
    ("com.acme.scanner", "Acme Scanner", &["2.2.1"]),
    ("com.acme.timeclock", "Acme Time Clock", &["1.0.9", "1.1.0"]),
    (
        "com.acme.inventory",
        "Acme Inventory",
        &["1.12.0", "1.13.2"],
    ),
    (
        "com.adobe.reader",
        "Adobe Acrobat Reader",
        &["24.8.0.34803"],
    ),
    ("com.android.calculator2", "Calculator", &["8.6.1"]),
    ("com.android.camera2", "Camera", &["2.0.002"]),
    (
        "com.android.chrome",
        "Chrome",
        &["128.0.6613.146", "129.0.6668.70"],
    ),
    ("com.android.documentsui", "Files", &["14-11713445"]),
    ("com.anydesk.anydeskandroid", "AnyDesk", &["7.1.2"]),
    ("com.clover.engine", "Clover", &["1.38.2"]),
    ("com.doordash.merchant", "DoorDash Merchant", &["15.187.0"]),
    ("com.dropbox.android", "Dropbox", &["388.2.2"]),
    ("com.google.android.apps.docs", "Drive", &["2.24.377.0"]),
    ("com.google.android.apps.maps", "Maps", &["11.146.0101"]),
    (
        "com.google.android.apps.messaging",
        "Messages",
        &["20240827.00"],
    ),
    ("com.google.android.gm", "Gmail", &["2024.09.01"]),
    ("com.google.android.keep", "Keep Notes", &["5.24.362.02"]),
    (
        "com.google.zxing.client.android",
        "Barcode Scanner",
        &["4.7.8"],
    ),
    (
        "com.honeywell.scanner.service",
        "Scanner Service",
        &["2.11.0"],
    ),
    ("com.microsoft.emmx", "Microsoft Edge", &["128.0.2739.90"]),
    ("com.microsoft.office.outlook", "Outlook", &["4.2437.1"]),
    (
        "com.microsoft.teams",
        "Microsoft Teams",
        &["1416/1.0.0.2024083002"],
    ),
    ("com.shopify.pos", "Shopify POS", &["9.14.0", "9.15.1"]),
    ("com.slack", "Slack", &["24.09.10.0"]),
    ("com.squareup", "Square Point of Sale", &["6.62", "6.63"]),
    ("com.sunmi.printerservice", "Printer Service", &["4.6.3"]),
    (
        "com.symbol.enterprisebrowser",
        "Enterprise Browser",
        &["3.7.1.0"],
    ),
    (
        "com.teamviewer.quicksupport.market",
        "TeamViewer QuickSupport",
        &["15.57.517"],
    ),
    ("com.toasttab.pos", "Toast POS", &["5.76.0", "5.77.1"]),
    (
        "com.ubercab.eats.restaurant",
        "Uber Eats Orders",
        &["3.271.10000"],
    ),
    ("com.workday.workdroidapp", "Workday", &["2024.37.0"]),
    ("com.zebra.datawedge", "DataWedge", &["11.3.28", "13.0.121"]),
    (
        "com.zebra.mdna.enterprisekeyboard",
        "Enterprise Keyboard",
        &["5.1.1.5"],
    ),
    ("org.mozilla.firefox", "Firefox", &["130.0.1"]),
    ("org.videolan.vlc", "VLC", &["3.5.4"]),
    (
        "com.lightspeedhq.retail",
        "Lightspeed Retail POS",
        &["4.12.0"],
    ),
    ("com.zoho.assist.agent", "Zoho Assist", &["2.9.1"]),
    ("net.openvpn.openvpn", "OpenVPN Connect", &["3.4.1"]),
    ("com.fourth.hotschedules", "HotSchedules", &["4.151.0"]),
];

/// SplitMix64 finaliser: a fixed, well-mixed hash (no dependency, the same on every build).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A number below `n` derived from a seed and a purpose.
fn pick(seed: u64, salt: u64, n: usize) -> usize {
    (mix(seed ^ salt.wrapping_mul(0x0000_0100_0000_01B3)) % n.max(1) as u64) as usize
}

/// A 15-digit IMEI: the model's type allocation code, a 6-digit serial that is a bijection of
/// the index (unique per model for a million devices), and the Luhn check digit.
fn imei(tac: &str, index: u64) -> String {
    let serial = (index % 1_000_000).wrapping_mul(387_433) % 1_000_000;
    let body = format!("{tac}{serial:06}");
    format!("{body}{}", luhn_digit(&body))
}

/// The digit that makes `digits` plus itself pass the Luhn check.
fn luhn_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                (d * 2) / 10 + (d * 2) % 10
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// `SIM` + the zero-padded index + a check character over its digits.
fn serial(index: u64) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let digits = format!("{index:08}");
    let check = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u64::from(b - b'0') * (i as u64 + 1))
        .sum::<u64>()
        % 36;
    format!("SIM{digits}{}", char::from(ALPHABET[check as usize]))
}

/// A locally administered MAC address: `02` then the index's low 32 bits, then the port.
fn mac(index: u64, port: u8) -> [u8; 6] {
    let i = (index as u32).to_be_bytes();
    [0x02, i[0], i[1], i[2], i[3], port]
}

fn mac_text(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// The EUI-64 link-local IPv6 address of a MAC.
fn link_local(m: [u8; 6]) -> String {
    let word = |a: u8, b: u8| u16::from(a) << 8 | u16::from(b);
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        word(m[0] ^ 0x02, m[1]),
        word(m[2], 0xff),
        word(0xfe, m[3]),
        word(m[4], m[5]),
    )
    .to_string()
}

/// An Android-style version code from the leading numbers of a version (`5.2.0` → 5002000).
fn version_code(version: &str) -> String {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap_or(0).min(999));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a * 1_000_000 + b * 1_000 + c).to_string()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Everything fixed about a device, derived from its index (never stored).
struct Profile {
    index: u64,
    seed: u64,
    model: &'static Model,
    store: u64,
    region: (&'static str, &'static str, f64, f64),
    /// Wi-Fi is the main link (handhelds always, a third of the rest).
    wifi: bool,
    /// A second, idle network port.
    spare_port: bool,
    ram_mb: u64,
    storage_mb: u64,
    /// Base Wi-Fi signal, -80…-45 dBm.
    signal: i32,
    /// Index into [`ANDROID_OS`] or [`LINUX_OS`].
    os: usize,
}

impl Profile {
    fn new(index: u64) -> Self {
        let seed = mix(index ^ 0x5EED_0FDE_71CE);
        let model = &MODELS[pick(seed, 1, MODELS.len())];
        let store = index / STORE_SIZE;
        let store_seed = mix(store ^ 0x5707E);
        Self {
            index,
            seed,
            model,
            store,
            region: REGIONS[pick(store_seed, 2, REGIONS.len())],
            wifi: model.battery || pick(seed, 3, 3) == 0,
            spare_port: pick(seed, 4, 4) == 0,
            ram_mb: RAM_MB[pick(seed, 5, RAM_MB.len())],
            storage_mb: STORAGE_MB[pick(seed, 6, STORAGE_MB.len())],
            signal: -45 - pick(seed, 7, 36) as i32,
            os: pick(
                seed,
                9,
                if model.android {
                    ANDROID_OS.len()
                } else {
                    LINUX_OS.len()
                },
            ),
        }
    }

    fn link_speed(&self) -> u32 {
        WIFI_MBPS[pick(self.seed, 8, WIFI_MBPS.len())]
    }

    /// The store's /24: 10.<store high>.<store low>.<10 + position in the store>.
    fn ipv4(&self) -> String {
        format!(
            "10.{}.{}.{}",
            (self.store >> 8) & 0xff,
            self.store & 0xff,
            10 + self.index % STORE_SIZE
        )
    }

    /// Where the store is: the region's city plus up to ±0.5° per store.
    fn store_location(&self) -> (f64, f64) {
        let s = mix(self.store ^ 0x10CA7E);
        let offset = |bits: u64| ((bits % 1001) as f64 - 500.0) / 1000.0;
        (self.region.2 + offset(s), self.region.3 + offset(s >> 20))
    }
}

/// The parts of a reading that evolve between calls.
#[derive(Debug)]
struct Evolving {
    /// Bytes received so far (sent is a per-device fraction of it).
    received: u64,
    calls: u32,
    /// Battery level in tenths of a percent.
    battery: u16,
    charging: bool,
    /// Packages installed (`Some`) or removed (`None`) by commands, over the generated list
    /// (empty, it allocates nothing).
    packages: BTreeMap<String, Option<InstalledApp>>,
}

/// A simulated device: its index and a few evolving numbers.
#[derive(Debug)]
pub struct SimulatedPlatform {
    index: u64,
    state: Mutex<Evolving>,
}

impl SimulatedPlatform {
    pub fn new(index: u64) -> Self {
        let seed = mix(index ^ 0xBA77);
        Self {
            index,
            state: Mutex::new(Evolving {
                received: seed % 500_000_000,
                calls: 0,
                battery: 300 + (seed >> 32) as u16 % 701,
                charging: false,
                packages: BTreeMap::new(),
            }),
        }
    }

    fn profile(&self) -> Profile {
        Profile::new(self.index)
    }
}

impl Platform for SimulatedPlatform {
    fn inventory(&self) -> Inventory {
        let p = self.profile();
        let m = p.model;
        let i = p.index;
        let (os_name, os_version, api_level, kernel) = if m.android {
            let (name, version, api, kernel) = ANDROID_OS[p.os];
            (name, version, Some(api), kernel.to_string())
        } else {
            let (name, version, kernel) = LINUX_OS[p.os];
            let kernel = if version == "12" {
                let flavour = if m.arch == "x86_64" { "amd64" } else { "arm64" };
                format!("{kernel}-{flavour}")
            } else {
                kernel.to_string()
            };
            (name, version, None, kernel)
        };

        let main_mac = mac(i, 1);
        let mut interfaces = vec![NetworkInterface {
            name: if p.wifi { "wlan0" } else { "eth0" }.into(),
            mac_address: Some(mac_text(main_mac)),
            addresses: vec![p.ipv4(), link_local(main_mac)],
            is_up: true,
            is_wireless: p.wifi,
        }];
        if m.tac.is_some() {
            // The cellular data link, behind carrier-grade NAT.
            interfaces.push(NetworkInterface {
                name: "rmnet_data0".into(),
                mac_address: None,
                addresses: vec![format!(
                    "100.{}.{}.{}",
                    64 + (i >> 16) % 64,
                    (i >> 8) & 0xff,
                    i & 0xff
                )],
                is_up: true,
                is_wireless: false,
            });
        } else if p.spare_port && !m.battery {
            interfaces.push(NetworkInterface {
                name: if p.wifi { "eth0" } else { "wlan0" }.into(),
                mac_address: Some(mac_text(mac(i, 2))),
                addresses: Vec::new(),
                is_up: false,
                is_wireless: !p.wifi,
            });
        }

        Inventory {
            hardware: HardwareInfo {
                manufacturer: Some(m.maker.into()),
                model: Some(m.name.into()),
                brand: Some(m.maker.into()),
                serial_number: Some(serial(i)),
                imei: m.tac.map(|tac| imei(tac, i)),
                cpu_model: Some(m.cpu.into()),
                cpu_cores: Some(m.cores),
                architecture: Some(m.arch.into()),
                total_ram_mb: Some(p.ram_mb),
            },
            software: SoftwareInfo {
                platform: Some(if m.android { "ANDROID" } else { "LINUX" }.into()),
                os_name: Some(os_name.into()),
                os_version: Some(os_version.into()),
                kernel_version: Some(kernel),
                agent_version: Some(AGENT_VERSION.into()),
                hostname: Some(format!("sim-{i}")),
                timezone: Some(p.region.0.into()),
                locale: Some(p.region.1.into()),
                api_level,
            },
            network: NetworkInfo {
                interfaces,
                wifi_ssid: p.wifi.then(|| format!("Store-{}", p.store)),
                wifi_signal_strength: p.wifi.then_some(p.signal),
                wifi_link_speed: p.wifi.then(|| p.link_speed()),
            },
            memory: MemoryInfo {
                total_ram_mb: Some(p.ram_mb),
                // Availability goes with telemetry, as on real devices.
                available_ram_mb: None,
                total_storage_mb: Some(p.storage_mb),
                available_storage_mb: None,
            },
            displays: m
                .display
                .map(|(name, width, height)| Display {
                    name: name.into(),
                    width: Some(width),
                    height: Some(height),
                    connected: true,
                })
                .into_iter()
                .collect(),
        }
    }

    fn apps(&self) -> Vec<InstalledApp> {
        let p = self.profile();
        let android = p.model.android;
        let (base, extra): (&[Package], &[Package]) = if android {
            (&ANDROID_BASE, &ANDROID_EXTRA)
        } else {
            (&LINUX_BASE, &LINUX_EXTRA)
        };
        // 5–40 packages: the base set and a device-specific walk through the extras (the
        // pool size is prime, so any stride visits distinct packages).
        let count = 5 + pick(p.seed, 10, 36);
        let extras = count.saturating_sub(base.len()).min(extra.len());
        let start = pick(p.seed, 11, extra.len());
        let stride = 1 + pick(p.seed, 12, extra.len() - 1);
        let chosen = (0..extras).map(|k| &extra[(start + k * stride) % extra.len()]);
        let mut apps: Vec<InstalledApp> = base
            .iter()
            .chain(chosen)
            .map(|&(package, name, versions)| {
                let salt = package
                    .bytes()
                    .fold(13u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
                let version = match versions[pick(p.seed, salt, versions.len())] {
                    OS_VERSION if android => ANDROID_OS[p.os].1,
                    OS_VERSION => LINUX_OS[p.os].1,
                    v => v,
                };
                InstalledApp {
                    package_name: package.into(),
                    app_name: name.into(),
                    version_name: Some(version.into()),
                    version_code: android.then(|| version_code(version)),
                }
            })
            .collect();
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        apps.retain(|a| !state.packages.contains_key(&a.package_name));
        apps.extend(state.packages.values().flatten().cloned());
        apps.sort_by(|a, b| a.package_name.cmp(&b.package_name));
        apps
    }

    fn apply_simulated_change(&self, change: PackageChange) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match change {
            PackageChange::Installed(app) => {
                state.packages.insert(app.package_name.clone(), Some(app))
            }
            PackageChange::Removed { package_name } => state.packages.insert(package_name, None),
        };
    }

    fn telemetry(&self) -> Telemetry {
        let p = self.profile();
        let m = p.model;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.calls = state.calls.wrapping_add(1);
        let jitter = mix(p.seed ^ u64::from(state.calls).wrapping_mul(0x9E37_79B9));
        let noise = |shift: u32, n: u64| (jitter >> shift) % n;

        if m.battery {
            // Drains 0.5–2 % a reading through a shift; in the cradle below 15 %, until full.
            if state.charging {
                state.battery = state
                    .battery
                    .saturating_add(30 + noise(0, 21) as u16)
                    .min(1000);
                if state.battery >= 980 {
                    state.charging = false;
                }
            } else {
                let drain = 5 + pick(p.seed, 13, 16) as u16;
                state.battery = state.battery.saturating_sub(drain).max(20);
                if state.battery <= 150 {
                    state.charging = true;
                }
            }
        }
        // A few kB to a few MB a reading.
        state.received = state.received.saturating_add(10_000 + noise(8, 2_000_000));
        let sent = state.received / (3 + pick(p.seed, 14, 8) as u64);

        let base_load = pick(p.seed, 15, 30) as f64;
        let cpu = round1(1.0 + base_load + noise(16, 290) as f64 / 10.0);
        let temperature = round1(35.0 + (cpu - 1.0) * 0.45 + noise(24, 80) as f64 / 10.0);
        let used_storage = 10 + pick(p.seed, 16, 60) as u64;
        let storage_available = p.storage_mb * (100 - used_storage - noise(32, 3)) / 100;
        let memory_available = p.ram_mb * (20 + noise(40, 56)) / 100;
        let location = m.battery.then(|| {
            // Walking about the store: up to ±0.001° (about 100 m), to 5 decimals (1 m).
            let (lat, lon) = p.store_location();
            let step = |bits: u64| (bits % 201) as f64 - 100.0;
            (
                ((lat * 100_000.0).round() + step(jitter >> 44)) / 100_000.0,
                ((lon * 100_000.0).round() + step(jitter >> 52)) / 100_000.0,
            )
        });
        Telemetry {
            battery_level: m.battery.then(|| f64::from(state.battery / 10)),
            battery_temperature: m.battery.then(|| {
                round1(25.0 + if state.charging { 6.0 } else { 0.0 } + noise(56, 60) as f64 / 10.0)
            }),
            battery_charging: m.battery.then_some(state.charging),
            cpu_percent: Some(cpu),
            temperature: Some(temperature),
            memory_total_mb: Some(p.ram_mb),
            memory_available_mb: Some(memory_available),
            storage_total_mb: Some(p.storage_mb),
            storage_available_mb: Some(storage_available),
            data_download_bytes: Some(state.received),
            data_upload_bytes: Some(sent),
            wifi_signal_strength: p
                .wifi
                .then(|| (p.signal + noise(60, 7) as i32 - 3).clamp(-80, -45)),
            wifi_link_speed: p.wifi.then(|| p.link_speed()),
            latitude: location.map(|l| l.0),
            longitude: location.map(|l| l.1),
        }
    }

    fn is_cheap(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

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

    fn is_prime(n: usize) -> bool {
        n >= 2
            && (2..n)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    }

    #[test]
    fn helpers() {
        // Known-good IMEI check digits.
        assert_eq!(luhn_digit("49015420323751"), 8);
        assert_eq!(luhn_digit("35209900176148"), 1);
        assert!(luhn_ok(&imei("35209873", 42)));
        assert_eq!(serial(7).len(), 12);
        assert!(serial(7).starts_with("SIM00000007"));
        assert_eq!(mac_text(mac(0x0102_0304, 1)), "02:01:02:03:04:01");
        assert_eq!(link_local([0x02, 0, 0, 0, 0, 1]), "fe80::ff:fe00:1");
        assert_eq!(version_code("5.2.0"), "5002000");
        assert_eq!(version_code("1416/1.0.0.2024083002"), "999001000");
        assert!(is_prime(LINUX_EXTRA.len()) && is_prime(ANDROID_EXTRA.len()));
        for (_, _, versions) in LINUX_BASE
            .iter()
            .chain(&LINUX_EXTRA)
            .chain(&ANDROID_BASE)
            .chain(&ANDROID_EXTRA)
        {
            assert!(!versions.is_empty());
        }
    }

    #[test]
    fn deterministic() {
        for i in [0, 1, 42, 99_999, u64::MAX] {
            assert_eq!(
                SimulatedPlatform::new(i).inventory(),
                SimulatedPlatform::new(i).inventory()
            );
            assert_eq!(
                SimulatedPlatform::new(i).apps(),
                SimulatedPlatform::new(i).apps()
            );
            assert_eq!(
                SimulatedPlatform::new(i).telemetry(),
                SimulatedPlatform::new(i).telemetry()
            );
        }
        let p = SimulatedPlatform::new(5);
        let _ = p.telemetry();
        assert_eq!(p.inventory(), SimulatedPlatform::new(5).inventory());
    }

    #[test]
    fn a_fleet_is_varied_and_consistent() {
        let fleet: Vec<Inventory> = (0..1000)
            .map(|i| SimulatedPlatform::new(i).inventory())
            .collect();
        let makers: HashSet<_> = fleet
            .iter()
            .map(|d| d.hardware.manufacturer.clone())
            .collect();
        assert!(makers.len() >= 5, "{makers:?}");
        let models: HashSet<_> = fleet.iter().map(|d| d.hardware.model.clone()).collect();
        assert!(models.len() >= 10);
        let serials: HashSet<_> = fleet
            .iter()
            .map(|d| d.hardware.serial_number.clone())
            .collect();
        assert_eq!(serials.len(), 1000);
        let imeis: Vec<&str> = fleet
            .iter()
            .filter_map(|d| d.hardware.imei.as_deref())
            .collect();
        assert!(imeis.len() > 50);
        for imei in &imeis {
            assert!(
                imei.len() == 15 && imei.bytes().all(|b| b.is_ascii_digit()) && luhn_ok(imei),
                "{imei}"
            );
        }
        assert_eq!(imeis.iter().collect::<HashSet<_>>().len(), imeis.len());
        let mut macs = HashSet::new();
        let mut ipv4s = HashSet::new();
        let mut platforms = HashMap::new();
        for (i, d) in fleet.iter().enumerate() {
            let sw = &d.software;
            *platforms.entry(sw.platform.clone().unwrap()).or_insert(0) += 1;
            match sw.platform.as_deref() {
                Some("ANDROID") => {
                    assert!(matches!(sw.api_level, Some(33 | 34)));
                    assert!(sw.os_name.as_deref().unwrap().starts_with("Android"));
                }
                Some("LINUX") => {
                    assert_eq!(sw.api_level, None);
                    assert!(["12", "22.04", "24.04"].contains(&sw.os_version.as_deref().unwrap()));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(sw.hostname, Some(format!("sim-{i}")));
            assert!(sw.timezone.is_some() && sw.kernel_version.is_some());
            let hw = &d.hardware;
            assert!((2048..=8192).contains(&hw.total_ram_mb.unwrap()));
            assert!((16_384..=131_072).contains(&d.memory.total_storage_mb.unwrap()));
            assert!(hw.imei.is_none() || sw.platform.as_deref() == Some("ANDROID"));
            let n = &d.network;
            assert!((1..=2).contains(&n.interfaces.len()));
            for nic in &n.interfaces {
                if let Some(m) = &nic.mac_address {
                    assert!(m.starts_with("02:"), "{m}");
                    assert!(macs.insert(m.clone()), "duplicate MAC {m}");
                }
            }
            let main = &n.interfaces[0];
            assert!(main.is_up);
            assert!(
                ipv4s.insert(main.addresses[0].clone()),
                "duplicate {}",
                main.addresses[0]
            );
            assert!(main.addresses[0].starts_with("10."));
            assert_eq!(main.is_wireless, n.wifi_ssid.is_some());
            if let Some(ssid) = &n.wifi_ssid {
                assert!(ssid.starts_with("Store-"));
                assert!((-80..=-45).contains(&n.wifi_signal_strength.unwrap()));
            } else {
                assert_eq!(n.wifi_signal_strength, None);
            }
            assert!(d.displays.len() <= 1);
        }
        assert!(
            platforms.len() == 2 && platforms.values().all(|n| *n > 100),
            "{platforms:?}"
        );
        assert!(fleet.iter().any(|d| d.network.interfaces.len() == 2));
        assert!(fleet.iter().any(|d| d.displays.is_empty()));
        assert!(
            fleet
                .iter()
                .filter(|d| d.network.wifi_ssid.is_some())
                .count()
                > 100
        );
        let zones: HashSet<_> = fleet.iter().map(|d| d.software.timezone.clone()).collect();
        assert!(zones.len() >= 5);
        // A store shares its time zone and Wi-Fi network.
        assert_eq!(fleet[0].software.timezone, fleet[24].software.timezone);
    }

    #[test]
    fn apps_are_plausible() {
        let mut counts = HashSet::new();
        let mut versions: HashMap<String, HashSet<String>> = HashMap::new();
        for i in 0..300 {
            let p = SimulatedPlatform::new(i);
            let inventory = p.inventory();
            let android = inventory.software.platform.as_deref() == Some("ANDROID");
            let apps = p.apps();
            if android {
                let settings = apps
                    .iter()
                    .find(|a| a.package_name == "com.android.settings");
                assert_eq!(
                    settings.and_then(|a| a.version_name.as_deref()),
                    inventory.software.os_version.as_deref()
                );
            }
            counts.insert(apps.len());
            assert!((5..=40).contains(&apps.len()), "{}", apps.len());
            let names: HashSet<_> = apps.iter().map(|a| a.package_name.as_str()).collect();
            assert_eq!(names.len(), apps.len(), "duplicate packages");
            for a in &apps {
                let pool: Vec<&str> = if android {
                    ANDROID_BASE
                        .iter()
                        .chain(&ANDROID_EXTRA)
                        .map(|p| p.0)
                        .collect()
                } else {
                    LINUX_BASE.iter().chain(&LINUX_EXTRA).map(|p| p.0).collect()
                };
                assert!(
                    pool.contains(&a.package_name.as_str()),
                    "{}",
                    a.package_name
                );
                assert_eq!(a.version_code.is_some(), android);
                assert!(!a.app_name.is_empty());
                versions
                    .entry(a.package_name.clone())
                    .or_default()
                    .insert(a.version_name.clone().unwrap());
            }
        }
        assert!(counts.len() > 10);
        assert!(versions.values().filter(|v| v.len() > 1).count() >= 5);
    }

    #[test]
    fn telemetry_moves_and_stays_in_range() {
        let handheld = (0..100)
            .map(SimulatedPlatform::new)
            .find(|p| p.profile().model.battery)
            .unwrap();
        let readings: Vec<Telemetry> = (0..300).map(|_| handheld.telemetry()).collect();
        let levels: HashSet<i64> = readings
            .iter()
            .map(|t| t.battery_level.unwrap() as i64)
            .collect();
        assert!(levels.len() > 10);
        assert!(readings.iter().any(|t| t.battery_charging == Some(true)));
        assert!(readings.iter().any(|t| t.battery_charging == Some(false)));
        assert!(
            readings
                .iter()
                .all(|t| t.latitude.is_some() && t.longitude.is_some())
        );
        let mains = (0..100)
            .map(SimulatedPlatform::new)
            .find(|p| !p.profile().model.battery)
            .unwrap();
        let mains_readings: Vec<Telemetry> = (0..50).map(|_| mains.telemetry()).collect();
        assert!(
            mains_readings
                .iter()
                .all(|t| t.battery_level.is_none() && t.battery_charging.is_none())
        );
        for pair in readings.windows(2).chain(mains_readings.windows(2)) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(b.data_download_bytes > a.data_download_bytes);
            assert!(b.data_upload_bytes >= a.data_upload_bytes);
        }
        let cpus: HashSet<i64> = readings
            .iter()
            .map(|t| t.cpu_percent.unwrap() as i64)
            .collect();
        assert!(cpus.len() > 5);
        for t in readings.iter().chain(&mains_readings) {
            assert!((1.0..=60.0).contains(&t.cpu_percent.unwrap()), "{t:?}");
            assert!((35.0..=70.0).contains(&t.temperature.unwrap()), "{t:?}");
            if let Some(level) = t.battery_level {
                assert!((0.0..=100.0).contains(&level));
                assert!((20.0..=45.0).contains(&t.battery_temperature.unwrap()));
            }
            assert!(t.memory_available_mb.unwrap() <= t.memory_total_mb.unwrap());
            assert!(t.storage_available_mb.unwrap() <= t.storage_total_mb.unwrap());
            if let Some(s) = t.wifi_signal_strength {
                assert!((-80..=-45).contains(&s));
            }
        }
        // Mains-powered, wired devices across the fleet report neither battery nor Wi-Fi.
        let some_wired = (0..200)
            .map(SimulatedPlatform::new)
            .find(|p| !p.profile().wifi)
            .unwrap();
        assert_eq!(some_wired.telemetry().wifi_signal_strength, None);
    }

    #[test]
    fn a_device_is_small_and_cheap() {
        let size = std::mem::size_of::<SimulatedPlatform>();
        assert!(size <= 64, "{size} bytes");
        let started = std::time::Instant::now();
        let mut bytes = 0;
        for i in 0..10_000 {
            let p = SimulatedPlatform::new(i);
            bytes += p.inventory().network.interfaces.len() + p.apps().len();
            let _ = p.telemetry();
        }
        assert!(bytes > 0);
        // Generous even for an unoptimised build: 10,000 devices in well under a few seconds.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
