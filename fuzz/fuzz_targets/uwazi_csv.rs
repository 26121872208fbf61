#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| custos_fuzz::import::uwazi_csv(data));
