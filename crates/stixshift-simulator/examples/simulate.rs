//! `cargo run -p stixshift-simulator --example simulate -- --generate 10000 --tls`
//! (what `stixshift simulate` does).

use clap::Parser;
use stixshift_simulator::cli::{run, SimulateArgs};

#[derive(Parser)]
#[command(
    name = "simulate",
    about = "Serve a simulated Sysdig Secure Events API"
)]
struct Cli {
    #[command(flatten)]
    args: SimulateArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run(Cli::parse().args).await
}
