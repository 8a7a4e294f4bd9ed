{
  "targets": [
    {
      "target_name": "nsq_native",
      "sources": [
        "native/binding.cc",
        "native/frame_parser.cc",
        "native/frame_encoder.cc",
        "native/ring_buffer.cc",
        "native/segment_writer.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NSQ_SOURCE_HASH=\"<!(node scripts/native-hash.mjs)\""],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-O2"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-exceptions", "-Wall", "-Wextra"],
      "conditions": [
        ["OS=='mac'", {"xcode_settings": {"GCC_ENABLE_CPP_EXCEPTIONS": "NO", "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "OTHER_CFLAGS": ["-O3"]}}]
      ]
    }
  ]
}
