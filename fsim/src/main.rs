fn main() {
    eprintln!("fsim: not implemented yet");
    std::process::exit(2);
}
