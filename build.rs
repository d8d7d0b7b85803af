//! Build script of `lab`: the built-in content ([`embed::embed_content`])
//! and the version with its git commit ([`version::git_version`]).

#[path = "build/embed.rs"]
mod embed;
#[path = "src/builtin/skip.rs"]
mod skip;
#[path = "build/version.rs"]
mod version;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build");
    embed::embed_content();
    version::git_version();
}
