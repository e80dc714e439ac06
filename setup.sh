#!/usr/bin/env bash
# Installs bmx's build dependencies (Debian 12 packages), builds bmx into ./build and installs it with its data
# (MolStrucTok checkpoint, example inputs) into /usr/local: bin/bmx, share/bmx/.
# Usage: ./setup.sh            (as root, or with sudo available)
#        BMX_PREFIX=~/.local ./setup.sh   (install elsewhere; no sudo where the folder is yours)
set -euo pipefail
cd "$(dirname "$0")"
prefix="${BMX_PREFIX:-/usr/local}"

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  librdkit-dev libboost-dev libboost-serialization-dev libboost-iostreams-dev
  gemmi-dev tao-pegtl-dev zlib1g-dev
  libeigen3-dev libopenbabel-dev openbabel
  doctest-dev libcli11-dev nlohmann-json3-dev rapidjson-dev libyaml-cpp-dev libcpp-httplib-dev
  dssp
  pybind11-dev python3-dev python3-numpy python3-rdkit python3-pytest python3-distributed python3-gemmi
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo_cmd=""
[[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
if ((${#missing[@]})); then
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" "${launcher[@]}"
cmake --build build -j "$(nproc)"

# Install: root (CI) or a prefix the user can write needs no sudo.
install_cmd=""
[[ -n "$sudo_cmd" ]] && ! { mkdir -p "$prefix" 2>/dev/null && [[ -w "$prefix" ]]; } && install_cmd="sudo"
$install_cmd cmake --install build --prefix "$prefix" >/dev/null
echo "bmx installed: $prefix/bin/bmx (data and examples in $prefix/share/bmx)"
py_dir="$prefix/lib/python3.$(/usr/bin/python3 -c 'import sys; print(sys.version_info.minor)')/dist-packages"
if [[ -d "$py_dir/bmx" ]]; then
  echo "Python module: $py_dir/bmx (import bmx, with /usr/bin/python3)"
  /usr/bin/python3 -c "import sys; sys.exit('$py_dir' not in sys.path)" 2>/dev/null ||
    echo "note: $py_dir is not on python3's path; add it: export PYTHONPATH=\"$py_dir:\$PYTHONPATH\""
fi
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
