{
  "targets": [
    {
      "target_name": "tendril",
      "sources": ["src/addon.c", "src/args.c", "src/sys.c", "src/kvm.c", "src/net.c", "src/input.c", "src/display.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpthread"]
    }
  ]
}
