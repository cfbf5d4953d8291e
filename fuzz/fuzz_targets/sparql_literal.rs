#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ggen_fuzz::sparql_literal(data));
