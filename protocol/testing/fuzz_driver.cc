// A main() for fuzz targets in builds without libFuzzer (gcc, ASan): replays
// every file of the given corpus directories through LLVMFuzzerTestOneInput,
// then runs mutations of them (bit flips, byte changes, insertions, deletions,
// truncations, splices and length-field fixes) from a fixed seed. Accepts
// libFuzzer's -runs=N so that one test command serves both builds.
//
// Usage: FUZZER [-runs=N] [-seed=S] DIR...

#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::vector<uint8_t>> ReadCorpus(const std::string& dir) {
  std::vector<std::vector<uint8_t>> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name, std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  closedir(d);
  return out;
}

void Mutate(std::vector<uint8_t>& v, const std::vector<uint8_t>& other, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 8) {
      case 0:
        if (!v.empty()) v[pick(v.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!v.empty()) v[pick(v.size())] = static_cast<uint8_t>(rng());
        break;
      case 2:
        v.insert(v.begin() + static_cast<long>(pick(v.size() + 1)), static_cast<uint8_t>(rng()));
        break;
      case 3:
        if (!v.empty()) v.erase(v.begin() + static_cast<long>(pick(v.size())));
        break;
      case 4:
        v.resize(pick(v.size() + 1));
        break;
      case 5: {  // splice a piece of another input
        if (other.empty()) break;
        size_t from = pick(other.size());
        size_t len = pick(other.size() - from) + 1;
        v.insert(v.begin() + static_cast<long>(pick(v.size() + 1)),
                 other.begin() + static_cast<long>(from),
                 other.begin() + static_cast<long>(from + len));
        break;
      }
      case 6: {  // a 16-bit field (a TLV or message length) set to an interesting value
        if (v.size() < 2) break;
        size_t at = pick(v.size() - 1);
        const uint16_t values[] = {0, 3, 4, 5, 8, 0xffff, static_cast<uint16_t>(v.size() - 1)};
        uint16_t x = values[rng() % 7];
        v[at] = static_cast<uint8_t>(x >> 8);
        v[at + 1] = static_cast<uint8_t>(x);
        break;
      }
      default:  // fix the message length (after the protocol byte) to the size
        if (v.size() >= 5) {
          size_t length = v.size() - 1;
          v[3] = static_cast<uint8_t>(length >> 8);
          v[4] = static_cast<uint8_t>(length);
        }
        break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 10000;
  uint64_t seed = 1;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("-runs=", 0) == 0) {
      runs = std::atol(arg.c_str() + 6);
    } else if (arg.rfind("-seed=", 0) == 0) {
      seed = std::strtoull(arg.c_str() + 6, nullptr, 10);
    } else if (arg[0] != '-') {
      auto files = ReadCorpus(arg);
      corpus.insert(corpus.end(), files.begin(), files.end());
    }
  }
  for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  if (corpus.empty()) corpus.push_back({0});
  std::mt19937_64 rng(seed);
  for (long r = 0; r < runs; ++r) {
    std::vector<uint8_t> input = corpus[rng() % corpus.size()];
    Mutate(input, corpus[rng() % corpus.size()], rng);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  printf("fuzz_driver: %zu corpus inputs, %ld mutations, no property violated\n", corpus.size(),
         runs);
  return 0;
}
