/work/main/.pagemap_scan_rs.o.d: /root/.cache/pmscan/linux-source-6.12/.clippy.toml /work/main/pagemap_scan_rs.rs /work/main/pagemap_scan/logic.rs ./rust/libcore.rmeta ./rust/libkernel.rmeta ./rust/libffi.rmeta ./rust/libcompiler_builtins.rmeta ./rust/libmacros.so ./rust/libbindings.rmeta ./rust/libuapi.rmeta ./rust/libbuild_error.rmeta

/work/main/pagemap_scan_rs.o: /root/.cache/pmscan/linux-source-6.12/.clippy.toml /work/main/pagemap_scan_rs.rs /work/main/pagemap_scan/logic.rs ./rust/libcore.rmeta ./rust/libkernel.rmeta ./rust/libffi.rmeta ./rust/libcompiler_builtins.rmeta ./rust/libmacros.so ./rust/libbindings.rmeta ./rust/libuapi.rmeta ./rust/libbuild_error.rmeta

/root/.cache/pmscan/linux-source-6.12/.clippy.toml:
/work/main/pagemap_scan_rs.rs:
/work/main/pagemap_scan/logic.rs:
./rust/libcore.rmeta:
./rust/libkernel.rmeta:
./rust/libffi.rmeta:
./rust/libcompiler_builtins.rmeta:
./rust/libmacros.so:
./rust/libbindings.rmeta:
./rust/libuapi.rmeta:
./rust/libbuild_error.rmeta:

# env-dep:CLIPPY_ARGS
# env-dep:CLIPPY_CONF_DIR=/root/.cache/pmscan/linux-source-6.12
