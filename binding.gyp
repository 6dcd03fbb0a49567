{
  "targets": [
    {
      "target_name": "airship_native",
      "sources": ["<!@(ls -1 native/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["<!@(pkg-config --libs libsquashfs1)", "<!@(pkg-config --libs ext2fs com_err)", "-ldeflate", "-lzstd"],
      "cflags": ["<!@(pkg-config --cflags libsquashfs1)"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_ENABLE_TYPE_CHECK_ON_AS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "LIBSQUASHFS_VERSION=\"<!(pkg-config --modversion libsquashfs1)\""]
    }
  ]
}
