#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| custos_fuzz::import::tella_metadata(data));
