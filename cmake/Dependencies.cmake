# Every dependency is a Debian 12 package (see setup.sh). Targets are imported once here as bmx::<name>.
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.11 REQUIRED)
# The JSON parser (core/io/json_sax.h): header-only, /usr/include; the package's config only names that folder.
find_package(RapidJSON 1.1 REQUIRED)
add_library(bmx_rapidjson INTERFACE)
target_include_directories(bmx_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
add_library(bmx::rapidjson ALIAS bmx_rapidjson)
find_package(CLI11 REQUIRED)
find_package(doctest REQUIRED)

# libtorch: only ATen/c10 are linked; keep <torch/torch.h> out of headers.
find_package(Torch REQUIRED)
add_library(bmx_torch INTERFACE)
# The program `bmx` links without libtorch (its torch commands are bmx_torch.so, apps/torch_part.h): a target
# with the property BMX_WITHOUT_TORCH gets the headers only, so an ATen symbol reaching it fails its link.
target_link_libraries(bmx_torch INTERFACE "$<$<NOT:$<BOOL:$<TARGET_PROPERTY:BMX_WITHOUT_TORCH>>>:${TORCH_LIBRARIES}>")
target_include_directories(bmx_torch INTERFACE ${TORCH_INCLUDE_DIRS})
add_library(bmx::torch ALIAS bmx_torch)

# RDKit ships no CMake config on Debian 12.
set(BMX_RDKIT_COMPONENTS
  GraphMol RDGeneral RDGeometryLib SmilesParse FileParsers Depictor SubstructMatch
  ForceField ForceFieldHelpers DistGeomHelpers DistGeometry MolAlign MolTransforms Alignment
  EigenSolvers Optimizer DataStructs Catalogs)
add_library(bmx_rdkit INTERFACE)
foreach(c ${BMX_RDKIT_COMPONENTS})
  find_library(RDKIT_${c}_LIB NAMES RDKit${c} REQUIRED)
  target_link_libraries(bmx_rdkit INTERFACE ${RDKIT_${c}_LIB})
endforeach()
find_path(RDKIT_INCLUDE_DIR GraphMol/RDKitBase.h PATH_SUFFIXES rdkit REQUIRED)
target_include_directories(bmx_rdkit SYSTEM INTERFACE ${RDKIT_INCLUDE_DIR})
add_library(bmx::rdkit ALIAS bmx_rdkit)

# Open Babel 3: bond perception for XYZ and formats RDKit does not read.
find_library(OPENBABEL_LIB NAMES openbabel REQUIRED)
find_path(OPENBABEL_INCLUDE_DIR openbabel/mol.h PATH_SUFFIXES openbabel3 REQUIRED)
add_library(bmx_openbabel INTERFACE)
target_link_libraries(bmx_openbabel INTERFACE ${OPENBABEL_LIB})
target_include_directories(bmx_openbabel SYSTEM INTERFACE ${OPENBABEL_INCLUDE_DIR})
add_library(bmx::openbabel ALIAS bmx_openbabel)

# gemmi 0.5.7 is header-only; it needs PEGTL headers and zlib for .gz input.
find_path(GEMMI_INCLUDE_DIR gemmi/model.hpp REQUIRED)
add_library(bmx_gemmi INTERFACE)
target_include_directories(bmx_gemmi SYSTEM INTERFACE ${GEMMI_INCLUDE_DIR})
target_link_libraries(bmx_gemmi INTERFACE ZLIB::ZLIB)
# Debian strips gemmi's bundled stb_sprintf.h (and libstb-dev is not installed): its writers format numbers with
# std::snprintf instead (same output in the C locale).
target_compile_definitions(bmx_gemmi INTERFACE USE_STD_SNPRINTF)
if(BMX_SANITIZE)
  # gemmi's PDB record lookup (ialpha4_id, util.hpp) shifts negative chars left on every non-ASCII byte of a
  # record: undefined in C++17 (defined in C++20, and what every compiler does), and in a Debian header that
  # bmx cannot change; left unchecked in gemmi's users so that UBSan keeps reading the rest of a PDB file.
  target_compile_options(bmx_gemmi INTERFACE -fno-sanitize=shift-base)
endif()
add_library(bmx::gemmi ALIAS bmx_gemmi)

# A library target per top-level folder: public headers in <dir>/include/bmx/<dir>/, sources in <dir>/src/.
# Sources are every src/*.cpp of the folder.
function(bmx_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(bmx_${name} STATIC ${sources})
  add_library(bmx::${name} ALIAS bmx_${name})
  target_include_directories(bmx_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(bmx_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  target_compile_options(bmx_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

# bmx serve: HTTP through Debian's cpp-httplib (libcpp-httplib-dev, the library llama-server uses). Its pkg-config
# file carries the TLS/zlib/brotli defines the shared library was built with, which the header must see too.
find_package(PkgConfig REQUIRED)
pkg_check_modules(BMX_HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
add_library(bmx::httplib ALIAS PkgConfig::BMX_HTTPLIB)
