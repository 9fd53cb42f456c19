//! `strata`: the operator's view of a fleet. `status` shows every shard; `plan` shows what the rebalancer and
//! the scaler would change now, without changing anything. Uses the standard AWS environment (profile, region,
//! `AWS_ENDPOINT_URL` for the emulator).

mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use strata_cli::report;
use strata_core::names::FleetName;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "See a Strata fleet, what Strata would change now, and what it would do with your traffic"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One row per shard: region, shard, ALB, healthy/total targets, requests per second, weight, state.
    Status(Args),
    /// What the dns-rebalancer and the alb-scaler would change now (read-only: no AWS resource is modified).
    Plan(Args),
    /// Replays a traffic series through Strata's own planners (no AWS): a summary and an SVG chart.
    Simulate(simulate::SimulateArgs),
    /// WRITES: tags the fleet's ALBs `strata:paused`, so that its scaler, rebalancer and registrar observe and
    /// report only, until `strata resume` (a stack Update does not lift it).
    Pause(Args),
    /// WRITES: removes the `strata:paused` tag of `strata pause` (a `Paused` property still holds).
    Resume(Args),
}

#[derive(clap::Args)]
struct Args {
    /// The fleet's name (the custom resource's FleetName).
    #[arg(long)]
    fleet: String,
    /// A region to look at; repeat for several. Default: the AWS environment's region (AWS_REGION / profile).
    #[arg(long = "region")]
    regions: Vec<String>,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Output {
    Table,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (args, plan) = match &cli.command {
        Command::Status(args) => (args, false),
        Command::Plan(args) => (args, true),
        Command::Pause(args) | Command::Resume(args) => {
            return pause(args, matches!(cli.command, Command::Pause(_))).await;
        }
        Command::Simulate(args) => {
            return match simulate::run(args) {
                Ok(out) => {
                    print!("{out}");
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("strata simulate: {err}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    let fleet = match FleetName::parse(&args.fleet) {
        Ok(fleet) => fleet,
        Err(err) => {
            eprintln!("strata: --fleet {err}");
            return ExitCode::from(2);
        }
    };
    match report::run(&fleet, &args.regions, plan).await {
        Ok(reports) => {
            match args.output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&reports).expect("reports serialize")),
                Output::Table => print!("{}", report::render(&reports, plan)),
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("strata: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn pause(args: &Args, on: bool) -> ExitCode {
    let fleet = match FleetName::parse(&args.fleet) {
        Ok(fleet) => fleet,
        Err(err) => {
            eprintln!("strata: --fleet {err}");
            return ExitCode::from(2);
        }
    };
    let (reports, failed) = strata_cli::pause::run(&fleet, &args.regions, on).await;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&reports).expect("reports serialize")),
        Output::Table => print!("{}", strata_cli::pause::render(&reports)),
    }
    match failed {
        None => ExitCode::SUCCESS,
        Some(err) => {
            eprintln!("strata: {err}");
            ExitCode::FAILURE
        }
    }
}
