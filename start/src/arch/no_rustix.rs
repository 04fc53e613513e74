//! Included by the start files of the architectures where rustix has no libc-free backend
//! on stable Rust (s390x and powerpc64): its `linux_raw` backend needs a nightly feature
//! there (`--cfg rustix_use_experimental_asm`), and its libc one cannot link into a static
//! tinyrt program. So tinyrt's `rustix` feature is refused at compile time.

#[cfg(feature = "rustix")]
compile_error!(
    "ERROR(tinyrt): the `rustix` feature needs rustix's libc-free backend, which needs a \
     nightly feature on powerpc64 and s390x (`--cfg rustix_use_experimental_asm`): build \
     without it there"
);
