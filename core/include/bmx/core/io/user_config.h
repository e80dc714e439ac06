// The user's bmx settings file: a JSON object of named paths, e.g. {"gcp_vqvae": "/data/gcp_vqvae_large"}.
// It is $BMX_CONFIG when set, else $XDG_CONFIG_HOME/bmx/config.json, else ~/.config/bmx/config.json, so that a
// model downloaded once is found by every later command without flags.
#pragma once
#include <string>

namespace bmx {

// The file consulted (whether or not it exists).
std::string user_config_file();

// The string stored under `key`, or "" when the file or the key is absent. A file that is not a JSON object,
// or a value that is not a string, is an InputError naming the file and the key.
std::string user_config_value(const std::string& key);

}  // namespace bmx
