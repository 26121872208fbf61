# Sourced by scripts/run and scripts/test: installs the Debian packages a command needs
# when they are missing (a fresh Debian 12 machine has none of them).

say() { printf '\n== %s\n' "$*"; }

# Whole GiB free on the file system that holds the path given.
free_gib() { df -Pk "$1" | awk 'NR == 2 { print int($4 / 1048576) }'; }

# The desktop shell (Tauri 2 on WebKitGTK) builds against these. `dbus` (the daemon and
# dbus-send) is what a desktop runs anyway; the window tests start private buses with it
# to send the app the signals of a session lock and of a suspend.
desktop_build_packages() {
  command -v pkg-config >/dev/null 2>&1 || echo pkg-config
  pkg-config --exists webkit2gtk-4.1 2>/dev/null || echo libwebkit2gtk-4.1-dev
  pkg-config --exists gtk+-3.0 2>/dev/null || echo libgtk-3-dev
  pkg-config --exists librsvg-2.0 2>/dev/null || echo librsvg2-dev
  pkg-config --exists libsoup-3.0 2>/dev/null || echo libsoup-3.0-dev
  pkg-config --exists openssl 2>/dev/null || echo libssl-dev
  command -v cc >/dev/null 2>&1 || echo build-essential
  command -v dbus-daemon >/dev/null 2>&1 && command -v dbus-send >/dev/null 2>&1 || echo dbus
}

# Fonts for the scripts of the UI's languages that a bare Debian lacks (Latin, Cyrillic,
# Arabic and Persian come with DejaVu, which GTK brings): Burmese and Chinese. Every
# language menu shows "မြန်မာ" and "简体中文", so the app needs them whatever its language.
# The smallest that do the job: Noto Sans Myanmar UI (fonts-noto-ui-core, 1.4 MB; UI
# metrics, so Burmese fits a button's line height) rather than all of fonts-noto-core
# (12 MB); WenQuanYi Micro Hei (1.6 MB) rather than fonts-noto-cjk (57 MB).
ui_font_packages() {
  command -v fc-list >/dev/null 2>&1 || { echo fonts-noto-ui-core; echo fonts-wqy-microhei; return; }
  fc-list :lang=my family | grep -q . || echo fonts-noto-ui-core
  fc-list :lang=zh-cn family | grep -q . || echo fonts-wqy-microhei
}

# Installs the packages named (nothing when the list is empty).
install_packages() {
  [ $# -gt 0 ] || return 0
  say "installing $*"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}
