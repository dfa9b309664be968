// Verilator harness for the core-comparison benches (picorv32_bench_top, vexriscv_bench_top).
//
//   V<top> +elf=bench.elf [+timeout=<cycles>]
//
// Loads the ELF's PT_LOAD segments into the top's RAM (DPI-C), releases reset and clocks the core
// until the finisher is written. A region of bench.c starts and ends at the retirement of the
// store at the ELF symbol bench_mark_store (the only store to the marker port); the value it
// writes points to the region's name in RAM (0 closes the region). Between the two boundaries the harness counts clock cycles and
// retired instructions (the top's o_retire). Output, one greppable line each:
//
//   BENCH region=<name> cycles=<n> instret=<n> checksum=0x<hex>
//   BENCH sim cycles=<n> instret=<n> seconds=<s> cpu_seconds=<s> cycles_per_second=<n>
//   BENCH exit=<finisher code>
//
// seconds is the wall time of the clock loop, cpu_seconds its CPU time; cycles_per_second uses the
// CPU time, which other load on the machine disturbs less (the model runs in one thread).
//
// Errors (timeout, trap, access outside RAM and devices, bad ELF) print "BENCH error=..." and
// exit 2. BENCH_TOP (a -D define) names the top module.

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "svdpi.h"
#include "verilated.h"

#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)
#define BENCH_CAT2(a, b) a##b
#define BENCH_CAT(a, b) BENCH_CAT2(a, b)
#define VTOP BENCH_CAT(V, BENCH_TOP)
#include BENCH_STR(VTOP.h)
#include BENCH_STR(BENCH_CAT(VTOP, __Dpi.h))

namespace {

const uint64_t kResetCycles = 16;

[[noreturn]] void fail(const std::string &message)
{
    std::fflush(stdout);
    std::fprintf(stderr, "BENCH error=%s\n", message.c_str());
    std::exit(2);
}

double cpu_seconds()
{
    timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return now.tv_sec + now.tv_nsec * 1e-9;
}

std::string hex32(uint32_t value)
{
    char text[16];
    std::snprintf(text, sizeof text, "0x%08" PRIx32, value);
    return text;
}

uint32_t le32(const std::vector<uint8_t> &bytes, size_t offset)
{
    if (offset + 4 > bytes.size())
        fail("ELF truncated");
    return bytes[offset] | bytes[offset + 1] << 8 | bytes[offset + 2] << 16 | (uint32_t)bytes[offset + 3] << 24;
}

uint16_t le16(const std::vector<uint8_t> &bytes, size_t offset)
{
    if (offset + 2 > bytes.size())
        fail("ELF truncated");
    return bytes[offset] | bytes[offset + 1] << 8;
}

// Copies the PT_LOAD segments into RAM (zero-filling up to p_memsz) and returns the address of
// the symbol bench_mark_store.
uint32_t load_elf(const std::string &path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        fail("cannot open ELF " + path);
    std::vector<uint8_t> elf((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (elf.size() < 52 || std::memcmp(elf.data(), "\x7f" "ELF", 4) != 0 || elf[4] != 1 || elf[5] != 1 ||
        le16(elf, 18) != 243)
        fail(path + " is not a little-endian ELF32 RISC-V file");

    const uint32_t phoff = le32(elf, 28), shoff = le32(elf, 32);
    const uint16_t phentsize = le16(elf, 42), phnum = le16(elf, 44);
    const uint16_t shentsize = le16(elf, 46), shnum = le16(elf, 48);

    for (unsigned i = 0; i < phnum; i++) {
        const size_t ph = phoff + (size_t)i * phentsize;
        if (le32(elf, ph) != 1)  // PT_LOAD
            continue;
        const uint32_t offset = le32(elf, ph + 4), paddr = le32(elf, ph + 12);
        const uint32_t filesz = le32(elf, ph + 16), memsz = le32(elf, ph + 20);
        if ((uint64_t)offset + filesz > elf.size())
            fail("ELF segment runs past the end of the file");
        for (uint32_t j = 0; j < memsz; j++) {
            if (!bench_ram_write_byte(paddr + j, j < filesz ? elf[offset + j] : 0))
                fail("ELF segment byte at " + hex32(paddr + j) + " is outside RAM");
        }
    }

    for (unsigned i = 0; i < shnum; i++) {
        const size_t sh = shoff + (size_t)i * shentsize;
        if (le32(elf, sh + 4) != 2)  // SHT_SYMTAB
            continue;
        const uint32_t symoff = le32(elf, sh + 16), symsize = le32(elf, sh + 20);
        const size_t strtab = shoff + (size_t)le32(elf, sh + 24) * shentsize;
        const uint32_t stroff = le32(elf, strtab + 16), strsize = le32(elf, strtab + 20);
        for (uint32_t sym = symoff; sym + 16 <= symoff + symsize; sym += 16) {
            const uint32_t name = le32(elf, sym);
            if (name >= strsize || (uint64_t)stroff + strsize > elf.size())
                continue;
            const char *text = reinterpret_cast<const char *>(&elf[stroff + name]);
            if (std::strncmp(text, "bench_mark_store", strsize - name) == 0)
                return le32(elf, sym + 4);
        }
    }
    fail(path + " has no symbol bench_mark_store");
}

std::string read_name(uint32_t addr)
{
    std::string name;
    for (uint8_t c; name.size() < 64 && (c = bench_ram_read_byte(addr + name.size())) != 0;)
        name += (c > ' ' && c < 127) ? (char)c : '?';
    return name.empty() ? hex32(addr) : name;
}

struct Boundary {
    uint64_t cycle;
    uint64_t instret;
};

struct Region {
    std::string name;
    uint64_t cycles = 0, instret = 0;
    uint32_t checksum = 0;
    bool has_checksum = false;
};

}  // namespace

int main(int argc, char **argv)
{
    const std::unique_ptr<VerilatedContext> context{new VerilatedContext};
    context->commandArgs(argc, argv);
    const std::unique_ptr<VTOP> top{new VTOP{context.get()}};
    svSetScope(svGetScopeFromName("TOP." BENCH_STR(BENCH_TOP)));

    const char *elf_arg = context->commandArgsPlusMatch("elf=");
    if (!*elf_arg)
        fail("usage: +elf=<program.elf> [+timeout=<cycles>]");
    const std::string elf_path = std::string(elf_arg).substr(5);
    const char *timeout_arg = context->commandArgsPlusMatch("timeout=");
    const uint64_t timeout = *timeout_arg ? std::strtoull(timeout_arg + 9, nullptr, 0) : 200000000ull;

    const uint32_t mark_pc = load_elf(elf_path);

    top->i_clk = 0;
    top->i_rst = 1;
    for (uint64_t i = 0; i < kResetCycles; i++) {
        top->i_clk = 1;
        top->eval();
        top->i_clk = 0;
        top->eval();
    }
    top->i_rst = 0;

    // Boundaries and marker values pair up in order: the core is in order and the marker store
    // is the only store to the marker port, whether its bus write comes before or after it retires.
    std::vector<Boundary> boundaries;
    std::vector<uint32_t> marks;
    std::vector<std::pair<size_t, uint32_t>> checksums;  // (marker writes so far, value)
    uint64_t cycle = 0, instret = 0;
    int finish_code = -1;

    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    while (finish_code < 0) {
        if (cycle >= timeout)
            fail("timeout: no finisher write within +timeout=" + std::to_string(timeout) + " cycles (" +
                 std::to_string(instret) + " instructions retired)");
        top->i_clk = 1;
        top->eval();
        cycle++;
        // Outputs now show the cycle that the next rising edge completes.
        if (top->o_retire) {
            instret++;
            if (top->o_retire_pc == mark_pc)
                boundaries.push_back({cycle, instret});
        }
        if (top->o_dev_write) {
            const uint32_t data = top->o_dev_wdata;
            if (top->o_dev_sel == 0)
                marks.push_back(data);
            else if (top->o_dev_sel == 1)
                checksums.emplace_back(marks.size(), data);
            else if (data == 0x5555)
                finish_code = 0;
            else if ((data & 0xffff) == 0x3333)
                finish_code = (int)(data >> 16);
            else
                fail("finisher written with " + hex32(data));
        }
        if (top->o_bad_access)
            fail("access to unmapped address " + hex32(top->o_bad_addr) + " at cycle " + std::to_string(cycle));
        if (top->o_trap)
            fail("the core trapped at cycle " + std::to_string(cycle) + " after " + std::to_string(instret) +
                 " instructions");
        top->i_clk = 0;
        top->eval();
    }
    const double cpu = cpu_seconds() - cpu_start;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    top->final();

    if (boundaries.size() != marks.size())
        fail(std::to_string(marks.size()) + " marker writes but " + std::to_string(boundaries.size()) +
             " retired marker stores");
    if (marks.size() % 2 != 0)
        fail("region " + read_name(marks.back()) + " was never closed");
    std::vector<Region> regions;
    for (size_t i = 0; i < marks.size(); i++) {
        const bool open = marks[i] != 0;
        if (open != (i % 2 == 0))
            fail("marker writes do not alternate open/close");
        if (!open) {
            Region region;
            region.name = read_name(marks[i - 1]);
            region.cycles = boundaries[i].cycle - boundaries[i - 1].cycle;
            region.instret = boundaries[i].instret - boundaries[i - 1].instret;
            regions.push_back(region);
        }
    }
    for (const auto &entry : checksums) {
        const size_t closed = entry.first / 2;  // regions closed before this write
        if (entry.first % 2 != 0 || closed == 0)
            fail("checksum written inside a region");
        regions[closed - 1].checksum = entry.second;
        regions[closed - 1].has_checksum = true;
    }
    for (const Region &region : regions) {
        std::printf("BENCH region=%s cycles=%" PRIu64 " instret=%" PRIu64 " checksum=%s\n", region.name.c_str(),
                    region.cycles, region.instret, region.has_checksum ? hex32(region.checksum).c_str() : "none");
    }
    std::printf("BENCH sim cycles=%" PRIu64 " instret=%" PRIu64 " seconds=%.3f cpu_seconds=%.3f cycles_per_second=%.0f\n",
                cycle, instret, seconds, cpu, cycle / cpu);
    std::printf("BENCH exit=%d\n", finish_code);
    return finish_code == 0 ? 0 : 1;
}
