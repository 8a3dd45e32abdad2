// digm-merkle: a manifest -> its RFC 9162 root, and inclusion and consistency
// proofs made and checked (SPEC §3).
#include "cli.h"
#include "digm/proof.h"

namespace {

using namespace digm;

std::string Label(const std::string& path) { return path == "-" ? "stdin" : "'" + path + "'"; }

int Print(const std::string& output, const Json& doc) {
  Status s = WriteOutput(output, DumpDocument(doc) + "\n");
  return s.ok() ? 0 : diag::Fail(s);
}

int Seal(const std::string& path, const std::string& output) {
  auto doc = ReadDocument(path, "manifest", 1);
  if (!doc.ok()) return diag::Fail(doc.status());
  auto m = ManifestFromJson(*doc);
  if (!m.ok()) return diag::Fail(m.status().Context("reading " + Label(path)));
  if (Status s = CheckRoot(*m); !s.ok()) return diag::Fail(s.Context(Label(path)));
  // Keep every member, known or not, and put the root right after the schema.
  Json sealed = Json::object();
  sealed["schema"] = (*doc)["schema"];
  sealed["root"] = HexEncode(m->ComputeRoot());
  for (auto& [key, value] : doc->items()) {
    if (key != "schema" && key != "root") sealed[key] = value;
  }
  return Print(output, sealed);
}

template <class Doc>
int Verify(const std::string& path, const char* kind, Result<Doc> (*parse)(const Json&),
           const std::string& want_root) {
  auto doc = ReadDocument(path, kind, 1);
  if (!doc.ok()) return diag::Fail(doc.status());
  auto proof = parse(*doc);
  if (!proof.ok()) return diag::Fail(proof.status().Context("reading " + Label(path)));
  if (!VerifyProof(*proof)) return diag::Fail(Status::No("the proof does not verify"));
  if (!want_root.empty()) {
    auto root = HexDecodeArray<32>(want_root);
    if (!root.ok()) return cli::UsageError("--root: " + root.status().message());
    Hash256 got;
    if constexpr (std::is_same_v<Doc, InclusionProofDoc>)
      got = proof->root;
    else
      got = proof->root2;
    if (got != *root) {
      return diag::Fail(Status::No("the proof verifies, but for root " + HexEncode(got) +
                                   ", not the expected " + want_root));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Seal manifests with their Merkle root; make and check proofs.", "digm-merkle");
  cli::Init(app, "digm-merkle");
  app.require_subcommand(1, 1);
  std::string manifest = "-", output = "-", proof = "-", older, newer, root;
  uint64_t index = 0;

  auto* seal =
      app.add_subcommand("seal", "add the root to a manifest (checks one it has) and print it");
  seal->add_option("MANIFEST", manifest, "manifest file, or - for stdin");
  seal->add_option("-o,--output", output, "write the sealed manifest here instead of stdout")
      ->type_name("FILE");

  auto* root_cmd = app.add_subcommand("root", "print a manifest's root in hex");
  root_cmd->add_option("MANIFEST", manifest, "manifest file, or - for stdin");

  auto* prove = app.add_subcommand("prove", "print the inclusion proof of one chunk");
  prove->add_option("MANIFEST", manifest, "manifest file, or - for stdin")->required();
  prove->add_option("-i,--index", index, "the chunk's index, from 0")->type_name("I")->required();
  prove->add_option("-o,--output", output, "write the proof here instead of stdout")
      ->type_name("FILE");

  auto* verify = app.add_subcommand("verify", "check an inclusion proof (exit 0 or 1)");
  verify->add_option("PROOF", proof, "digm.proof/1 file, or - for stdin");
  verify->add_option("--root", root, "also require the proof to be for this root")
      ->type_name("HEX");

  auto* cons = app.add_subcommand("consistency", "print the proof that NEW extends OLD");
  cons->add_option("OLD", older, "the older manifest")->required();
  cons->add_option("NEW", newer, "the newer manifest")->required();
  cons->add_option("-o,--output", output, "write the proof here instead of stdout")
      ->type_name("FILE");

  auto* vcons = app.add_subcommand("verify-consistency", "check a consistency proof (exit 0 or 1)");
  vcons->add_option("PROOF", proof, "digm.consistency/1 file, or - for stdin");
  vcons->add_option("--root", root, "also require the newer root to be this one")->type_name("HEX");

  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  if (seal->parsed()) return Seal(manifest, output);
  if (verify->parsed()) return Verify<InclusionProofDoc>(proof, "proof", ProofFromJson, root);
  if (vcons->parsed()) {
    return Verify<ConsistencyProofDoc>(proof, "consistency", ConsistencyProofFromJson, root);
  }
  if (cons->parsed()) {
    if (older == "-" && newer == "-") return cli::UsageError("OLD and NEW cannot both be stdin");
    auto a = ReadManifest(older, false);
    if (!a.ok()) return diag::Fail(a.status());
    auto b = ReadManifest(newer, false);
    if (!b.ok()) return diag::Fail(b.status());
    auto p = ProveConsistency(*a, *b);
    return p.ok() ? Print(output, ProofToJson(*p)) : diag::Fail(p.status());
  }
  auto m = ReadManifest(manifest, false);
  if (!m.ok()) return diag::Fail(m.status());
  if (root_cmd->parsed()) {
    Status s = WriteOutput("-", HexEncode(m->ComputeRoot()) + "\n");
    return s.ok() ? 0 : diag::Fail(s);
  }
  auto p = ProveInclusion(*m, index);
  return p.ok() ? Print(output, ProofToJson(*p)) : diag::Fail(p.status());
}
