// Verilator testbench for rvtvm_accel: a RAM model on the DMA port, driven by a command script.
//
// The script comes on stdin, one command per line; numbers are C literals (0x... or decimal) and
// '#' starts a comment:
//
//   w OFF VAL        register write (strobe 0xf)
//   r OFF            register read; prints "R OFF VAL" (hex)
//   wait [LIMIT]     reads STATUS until neither unit is busy; prints "W cycles=N status=S" (N cycles
//                    waited, S the last STATUS); fails after LIMIT cycles (default 10000000)
//   load ADDR HEX    writes the bytes HEX (two hex digits each) to RAM at ADDR
//   dump ADDR LEN    prints "D ADDR HEX": LEN bytes of RAM from ADDR
//   fill ADDR LEN B  sets LEN RAM bytes from ADDR to B
//   idle N           runs N cycles
//   reset N          holds i_rst for N cycles
//   cycles           prints "C N": cycles since the testbench started
//   echo TEXT        prints TEXT
//
// RAM: RAM_BYTES (1 MiB) at RAM_BASE (0x8000_0000), always ready unless +stall, and a read's data
// comes the cycle after it is taken, as rvtvm_accel's port comment says. The register port acts
// like PicoRV32's: it holds i_reg_valid until it sees o_reg_ready, and for the cycle it sees it in.
//
// Plusargs: +timeout=CYCLES (default 200000000), +trace=FILE (VCD; FST if built with --trace-fst
// -CFLAGS -DACCEL_TB_FST, which needs lz4.h), +trace_start=CYCLE, +stall=PERCENT (i_dma_ready
// low in that share of cycles, at random), +seed=N.
//
// tests/test_accel_rtl.py builds it (rvtvm.verilator.build_model, top rvtvm_accel, --trace-vcd).
//
// Checks: a DMA request must be DMA_BYTES-aligned, inside RAM, and held unchanged until taken;
// o_reg_ready must answer a request. The run ends with "TB done cycles=N" and status 0, or with
// "TB error: ..." (status 1) or "TB timeout ..." (status 2).

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "Vrvtvm_accel.h"
#include "verilated.h"
#ifdef ACCEL_TB_FST
#include "verilated_fst_c.h"
using TraceFile = VerilatedFstC;
#else
#include "verilated_vcd_c.h"
using TraceFile = VerilatedVcdC;
#endif

namespace {

constexpr uint32_t kRamBase = 0x80000000u;
constexpr uint32_t kRamBytes = 0x00100000u;
constexpr int kDmaBytes = 32;  // rvtvm_accel's default DMA_BYTES
constexpr uint32_t kRegStatus = 0x018;
constexpr uint64_t kDefaultWaitLimit = 10000000;

static_assert(sizeof(Vrvtvm_accel::o_dma_wdata) == kDmaBytes, "the model's DMA_BYTES is not kDmaBytes");

// Thrown to end the run; main() prints it after the bench (and its trace file) is closed.
struct Failure {
    int status;
    std::string message;
};

[[noreturn]] void fail(int status, const std::string& message) { throw Failure{status, message}; }

struct DmaRequest {
    bool write;
    uint32_t addr;
    uint32_t wstrb;
    uint8_t data[kDmaBytes];
    bool operator==(const DmaRequest& o) const {
        return write == o.write && addr == o.addr && (!write || (wstrb == o.wstrb && !std::memcmp(data, o.data, kDmaBytes)));
    }
};

class Bench {
  public:
    Bench(VerilatedContext* context) : top_(new Vrvtvm_accel(context)), ram_(kRamBytes, 0) {
        const char* arg;
        if ((arg = context->commandArgsPlusMatch("timeout=")) && *arg)
            timeout_ = std::strtoull(arg + std::strlen("+timeout="), nullptr, 0);
        if ((arg = context->commandArgsPlusMatch("stall=")) && *arg)
            stall_percent_ = std::atoi(arg + std::strlen("+stall="));
        if ((arg = context->commandArgsPlusMatch("seed=")) && *arg)
            rng_.seed(std::strtoul(arg + std::strlen("+seed="), nullptr, 0));
        if ((arg = context->commandArgsPlusMatch("trace_start=")) && *arg)
            trace_start_ = std::strtoull(arg + std::strlen("+trace_start="), nullptr, 0);
        if ((arg = context->commandArgsPlusMatch("trace=")) && *arg) {
            trace_path_ = arg + std::strlen("+trace=");
            context->traceEverOn(true);
        }
        top_->i_clk = 0;
        top_->i_reg_valid = 0;
        top_->i_dma_ready = 1;
        reset(4);
    }

    ~Bench() {
        if (trace_)
            trace_->close();
        top_->final();
    }

    uint64_t cycles() const { return cycle_; }

    // One clock cycle: inputs already set; evaluate, serve the DMA port, clock edge.
    void tick() {
        if (!trace_path_.empty() && !trace_ && cycle_ >= trace_start_) {
            trace_.reset(new TraceFile);
            top_->trace(trace_.get(), 99);
            trace_->open(trace_path_.c_str());
        }
        top_->i_dma_ready = stall_percent_ > 0 ? int(rng_() % 100) >= stall_percent_ : 1;
        top_->i_clk = 0;
        top_->eval();
        if (trace_)
            trace_->dump(2 * cycle_);

        bool read_taken = false;
        uint32_t read_addr = 0;
        if (top_->o_dma_valid) {
            DmaRequest req = request();
            if (req.addr % kDmaBytes)
                fail(1, "TB error: DMA address " + hex(req.addr) + " not aligned");
            if (req.addr < kRamBase || req.addr - kRamBase > kRamBytes - kDmaBytes)
                fail(1, "TB error: DMA address " + hex(req.addr) + " outside RAM");
            if (waiting_ && !(req == waiting_req_))
                fail(1, "TB error: DMA request changed before it was taken (was " + hex(waiting_req_.addr) +
                            ", now " + hex(req.addr) + ")");
            if (top_->i_dma_ready) {
                waiting_ = false;
                if (req.write) {
                    for (int k = 0; k < kDmaBytes; k++)
                        if (req.wstrb >> k & 1)
                            ram_[req.addr - kRamBase + k] = req.data[k];
                } else {
                    read_taken = true;
                    read_addr = req.addr;
                }
            } else {
                waiting_ = true;
                waiting_req_ = req;
            }
        } else if (waiting_) {
            fail(1, "TB error: DMA request " + hex(waiting_req_.addr) + " withdrawn before it was taken");
        }

        top_->i_clk = 1;
        top_->eval();
        cycle_++;
        if (trace_)
            trace_->dump(2 * cycle_ - 1);
        // a read's data is there in the cycle after it was taken; garbage otherwise
        for (int w = 0; w < kDmaBytes / 4; w++) {
            uint32_t word = 0xdeadbeefu;
            if (read_taken)
                std::memcpy(&word, &ram_[read_addr - kRamBase + 4 * w], 4);
            top_->i_dma_rdata[w] = word;
        }
        if (cycle_ > timeout_)
            fail(2, "TB timeout at cycle " + std::to_string(cycle_));
    }

    uint32_t reg_access(uint32_t offset, uint32_t wdata, bool write) {
        if (top_->o_reg_ready)
            fail(1, "TB error: o_reg_ready without a request");
        top_->i_reg_valid = 1;
        top_->i_reg_addr = offset;
        top_->i_reg_wdata = wdata;
        top_->i_reg_wstrb = write ? 0xf : 0;
        for (int n = 0;; n++) {
            tick();
            if (top_->o_reg_ready)
                break;
            if (n > 100)
                fail(1, "TB error: no o_reg_ready for register " + hex(offset));
        }
        uint32_t rdata = top_->o_reg_rdata;
        tick();  // the cycle the core sees o_reg_ready in: the request is still up
        top_->i_reg_valid = 0;
        if (top_->o_reg_ready)
            fail(1, "TB error: o_reg_ready longer than one cycle");
        return rdata;
    }

    void reset(uint64_t cycles) {
        top_->i_rst = 1;
        for (uint64_t i = 0; i < cycles; i++)
            tick();
        top_->i_rst = 0;
    }

    uint8_t* ram(uint32_t addr, uint32_t len) {
        if (addr < kRamBase || len > kRamBytes || addr - kRamBase > kRamBytes - len)
            fail(1, "TB error: script RAM access " + hex(addr) + "+" + std::to_string(len) + " outside RAM");
        return &ram_[addr - kRamBase];
    }

    static std::string hex(uint64_t v) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
        return buf;
    }

  private:
    DmaRequest request() const {
        DmaRequest req{};
        req.write = top_->o_dma_write;
        req.addr = top_->o_dma_addr;
        req.wstrb = top_->o_dma_wstrb;
        for (int w = 0; w < kDmaBytes / 4; w++) {
            uint32_t word = top_->o_dma_wdata[w];
            std::memcpy(&req.data[4 * w], &word, 4);
        }
        return req;
    }

    std::unique_ptr<Vrvtvm_accel> top_;
    std::vector<uint8_t> ram_;
    std::unique_ptr<TraceFile> trace_;
    std::string trace_path_;
    uint64_t trace_start_ = 0;
    uint64_t cycle_ = 0;
    uint64_t timeout_ = 200000000;
    int stall_percent_ = 0;
    std::mt19937 rng_{1};
    bool waiting_ = false;
    DmaRequest waiting_req_{};
};

uint64_t number(std::istringstream& in, const std::string& line) {
    std::string token;
    if (!(in >> token))
        fail(1, "TB error: missing number in: " + line);
    char* end;
    uint64_t v = std::strtoull(token.c_str(), &end, 0);
    if (*end)
        fail(1, "TB error: bad number '" + token + "' in: " + line);
    return v;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

int run_script(Bench& bench);

int main(int argc, char** argv) {
    auto context = std::make_unique<VerilatedContext>();
    context->commandArgs(argc, argv);
    try {
        Bench bench(context.get());
        return run_script(bench);
    } catch (const Failure& failure) {
        std::printf("%s\n", failure.message.c_str());
        std::fflush(stdout);
        return failure.status;
    }
}

int run_script(Bench& bench) {
    std::string line;
    while (std::getline(std::cin, line)) {
        size_t hash = line.find('#');
        if (hash != std::string::npos)
            line.erase(hash);
        std::istringstream in(line);
        std::string cmd;
        if (!(in >> cmd))
            continue;
        if (cmd == "w") {
            uint32_t off = number(in, line);
            uint32_t val = number(in, line);
            bench.reg_access(off, val, true);
        } else if (cmd == "r") {
            uint32_t off = number(in, line);
            std::printf("R 0x%03x 0x%08x\n", off, bench.reg_access(off, 0, false));
        } else if (cmd == "wait") {
            std::string rest;
            uint64_t limit = kDefaultWaitLimit;
            if (in >> rest)
                limit = std::strtoull(rest.c_str(), nullptr, 0);
            uint64_t start = bench.cycles();
            uint32_t status;
            while ((status = bench.reg_access(kRegStatus, 0, false)) & 3) {
                if (bench.cycles() - start > limit)
                    fail(1, "TB error: still busy after " + std::to_string(limit) + " cycles (STATUS " +
                                Bench::hex(status) + ")");
            }
            std::printf("W cycles=%" PRIu64 " status=0x%x\n", bench.cycles() - start, status);
        } else if (cmd == "load") {
            uint32_t addr = number(in, line);
            std::string data;
            in >> data;
            if (data.size() % 2)
                fail(1, "TB error: odd hex length in load");
            uint8_t* dst = bench.ram(addr, data.size() / 2);
            for (size_t i = 0; i < data.size(); i += 2) {
                int hi = hex_digit(data[i]), lo = hex_digit(data[i + 1]);
                if (hi < 0 || lo < 0)
                    fail(1, "TB error: bad hex in load");
                dst[i / 2] = uint8_t(hi << 4 | lo);
            }
        } else if (cmd == "dump") {
            uint32_t addr = number(in, line);
            uint32_t len = number(in, line);
            const uint8_t* src = bench.ram(addr, len);
            std::string text(2 * size_t(len), '0');
            static const char digits[] = "0123456789abcdef";
            for (uint32_t i = 0; i < len; i++) {
                text[2 * i] = digits[src[i] >> 4];
                text[2 * i + 1] = digits[src[i] & 15];
            }
            std::printf("D 0x%08x %s\n", addr, text.c_str());
        } else if (cmd == "fill") {
            uint32_t addr = number(in, line);
            uint32_t len = number(in, line);
            uint32_t byte = number(in, line);
            std::memset(bench.ram(addr, len), int(byte & 0xff), len);
        } else if (cmd == "idle") {
            uint64_t n = number(in, line);
            for (uint64_t i = 0; i < n; i++)
                bench.tick();
        } else if (cmd == "reset") {
            uint64_t n = number(in, line);
            bench.reset(n);
        } else if (cmd == "cycles") {
            std::printf("C %" PRIu64 "\n", bench.cycles());
        } else if (cmd == "echo") {
            std::string rest;
            std::getline(in, rest);
            size_t start = rest.find_first_not_of(' ');
            std::printf("%s\n", start == std::string::npos ? "" : rest.c_str() + start);
        } else {
            fail(1, "TB error: unknown command: " + line);
        }
    }
    std::printf("TB done cycles=%" PRIu64 "\n", bench.cycles());
    std::fflush(stdout);
    return 0;
}
