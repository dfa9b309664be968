// Verilator testbench: the accelerator driver's MMIO backend driving rvtvm_accel, with no CPU.
//
// The driver (accel_driver/src/accel_mmio.c + accel_args.c) and the job runner (tests/c/accel_job.c,
// built with -DACCEL_JOB_NO_MAIN) are linked in as C objects; this file is their platform:
//
// - the port of rvtvm/accel_port.h (built without RVTVM_ACCEL_PORT_MMIO): a register read or write
//   drives the register port as PicoRV32 does (i_reg_valid held until o_reg_ready, and for the
//   cycle it is seen in) and clocks the model meanwhile; bus_address(p) is RAM_BASE + (p - ram);
// - accel_job.h's memory, inside the simulated RAM (below);
// - the RAM on the DMA port: RAM_BYTES (1 MiB) at RAM_BASE (0x8000_0000), rvtvm_accel's defaults,
//   a host byte array served every clock edge: ready always (unless +stall), a read's data in the
//   cycle after it was taken.
// main() resets the model (4 cycles: the clock gate needs 2) and serves jobs from stdin to stdout
// (accel_job.h's stream); its exit status is accel_job_serve's (0, or 2 on a malformed request).
//
// Allocation. A bump allocator in the RAM: an allocation starts in the first DMA word that begins
// at least DMA_BYTES + 32 bytes past the previous one's end (so a DMA read one word past an
// operand touches no operand), at an offset within that word that cycles through all eight
// multiples of 4 (allocation k of job j: 4 * ((3k + 5j) mod 8)). Over a batch every operand
// starts at every word offset, so the DMA sees unaligned rows and partial first and last words.
// This is deliberately less than accel_job.h's "aligned to 16": the driver's API asks for no
// alignment (int32 params stay 4-aligned) and accel_job.c does not rely on it. The gaps hold a
// fill byte that changes with every job, and accel_job_free_all refills everything the job used,
// so stale or stray bytes cannot pass for data.
//
// Checks, each ending the run with "accel_driver_tb: ..." on stderr: a DMA request must be
// DMA_BYTES-aligned, inside RAM, and held unchanged until taken; a DMA read must touch a live
// allocation, and every byte a DMA write strobes must lie in one (the guards accel_job.c puts
// around the output catch writes just past it; this catches them anywhere); o_reg_ready must
// answer a register request within 100 cycles; a pointer given to bus_address must lie in RAM.
// Exit status 3 for these, 4 when a job runs past the cycle limit.
//
// Plusargs: +timeout=CYCLES (per job, counted from the end of the previous one; default
// 100000000), +trace=FILE.vcd (the whole run: use it on a batch of one job), +stall=PERCENT
// (i_dma_ready low in that share of cycles, at random), +seed=N (for +stall).
//
// tests/test_accel_driver.py builds it (runners "mmio-rtl" and "mmio-rtl-stall"), with the C objects
// compiled by gcc (they are C11, which Verilator's make would compile as C++).

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vrvtvm_accel.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

extern "C" {
#include "accel_job.h"
#include "rvtvm/accel_port.h"
}

namespace {

constexpr uint32_t kRamBase = 0x80000000u;
constexpr uint32_t kRamBytes = 0x00100000u;
constexpr uint32_t kDmaBytes = 32;  // rvtvm_accel's default DMA_BYTES
constexpr uint32_t kGapBytes = kDmaBytes + 32;
constexpr int kTbError = 3, kTbTimeout = 4;

static_assert(sizeof(Vrvtvm_accel::o_dma_wdata) == kDmaBytes, "the model's DMA_BYTES is not kDmaBytes");

alignas(64) uint8_t ram[kRamBytes];

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

struct DmaRequest {
    bool write;
    uint32_t addr, wstrb;
    uint32_t data[kDmaBytes / 4];
    bool operator==(const DmaRequest& o) const {
        return write == o.write && addr == o.addr &&
               (!write || (wstrb == o.wstrb && !std::memcmp(data, o.data, sizeof data)));
    }
};

class Bench {
  public:
    explicit Bench(VerilatedContext* context) : top_(new Vrvtvm_accel(context)) {
        const char* arg;
        if ((arg = context->commandArgsPlusMatch("timeout=")) && *arg)
            timeout_ = std::strtoull(arg + std::strlen("+timeout="), nullptr, 0);
        if ((arg = context->commandArgsPlusMatch("stall=")) && *arg)
            stall_percent_ = std::atoi(arg + std::strlen("+stall="));
        if ((arg = context->commandArgsPlusMatch("seed=")) && *arg)
            rng_.seed(std::strtoul(arg + std::strlen("+seed="), nullptr, 0));
        if ((arg = context->commandArgsPlusMatch("trace=")) && *arg) {
            context->traceEverOn(true);
            trace_.reset(new VerilatedVcdC);
            top_->trace(trace_.get(), 99);
            trace_->open(arg + std::strlen("+trace="));
        }
        std::memset(ram, fill_byte(), sizeof ram);
        top_->i_clk = 0;
        top_->i_reg_valid = 0;
        top_->i_dma_ready = 1;
        top_->i_rst = 1;
        for (int i = 0; i < 4; i++)
            tick();
        top_->i_rst = 0;
        job_start_ = cycle_;
    }

    void finish() {
        if (trace_)
            trace_->close();
        trace_.reset();
        top_->final();
    }

    // Ends the run from anywhere, the C driver's frames included (so no exception).
    [[noreturn]] void die(int status, const std::string& message) {
        std::fflush(stdout);
        std::fprintf(stderr, "accel_driver_tb: %s (cycle %" PRIu64 ", job %u)\n", message.c_str(), cycle_, jobs_);
        finish();
        std::fflush(nullptr);
        std::_Exit(status);  // no atexit handlers: LeakSanitizer would report the live model
    }

    uint32_t reg_access(uint32_t offset, uint32_t wdata, bool write) {
        top_->i_reg_valid = 1;
        top_->i_reg_addr = offset;
        top_->i_reg_wdata = wdata;
        top_->i_reg_wstrb = write ? 0xf : 0;
        for (int n = 0; !top_->o_reg_ready; n++) {
            if (n > 100)
                die(kTbError, "no o_reg_ready for register " + hex(offset));
            tick();
        }
        uint32_t rdata = top_->o_reg_rdata;
        tick();  // the cycle the CPU sees o_reg_ready in: the request is still up
        top_->i_reg_valid = 0;
        return rdata;
    }

    uint32_t bus_address(const void* pointer) {
        auto p = reinterpret_cast<uintptr_t>(pointer), base = reinterpret_cast<uintptr_t>(ram);
        if (p < base || p - base > kRamBytes)
            die(kTbError, "bus_address of a pointer outside the simulated RAM");
        return kRamBase + uint32_t(p - base);
    }

    void* alloc(uint32_t bytes) {
        uint32_t k = uint32_t(live_.size()), offset = 4 * ((3 * k + 5 * jobs_) % 8);
        uint64_t start = (uint64_t(used_) + kGapBytes + kDmaBytes - 1) / kDmaBytes * kDmaBytes + offset;
        if (start + bytes + kGapBytes > kRamBytes)
            return nullptr;
        live_.push_back({uint32_t(start), uint32_t(start + bytes)});
        used_ = uint32_t(start + bytes);
        return ram + start;
    }

    void free_all() {
        live_.clear();
        jobs_++;
        std::memset(ram, fill_byte(), std::min(kRamBytes, used_ + kGapBytes));
        used_ = 0;
        job_start_ = cycle_;
    }

    uint64_t cycles() const { return cycle_; }
    unsigned jobs() const { return jobs_; }

  private:
    struct Range {
        uint32_t begin, end;  // RAM offsets
    };

    uint8_t fill_byte() const { return uint8_t(0xC3 + 0x4D * jobs_); }

    bool live(uint32_t begin, uint32_t end) const {  // [begin, end) overlaps a live allocation
        for (const Range& r : live_)
            if (begin < r.end && r.begin < end)
                return true;
        return false;
    }

    // One clock cycle, inputs already set: evaluate, serve the DMA port, rising edge.
    void tick() {
        top_->i_dma_ready = stall_percent_ > 0 ? int(rng_() % 100) >= stall_percent_ : 1;
        top_->i_clk = 0;
        top_->eval();
        if (trace_)
            trace_->dump(2 * cycle_);
        bool read_taken = false;
        uint32_t read_offset = 0;
        if (top_->o_dma_valid) {
            DmaRequest req{};
            req.write = top_->o_dma_write;
            req.addr = top_->o_dma_addr;
            req.wstrb = top_->o_dma_wstrb;
            for (uint32_t w = 0; w < kDmaBytes / 4; w++)
                req.data[w] = top_->o_dma_wdata[w];
            if (req.addr % kDmaBytes)
                die(kTbError, "DMA address " + hex(req.addr) + " not aligned");
            if (req.addr < kRamBase || req.addr - kRamBase > kRamBytes - kDmaBytes)
                die(kTbError, "DMA address " + hex(req.addr) + " outside RAM");
            if (waiting_ && !(req == waiting_req_))
                die(kTbError, "DMA request changed before it was taken (was " + hex(waiting_req_.addr) + ", now " +
                                  hex(req.addr) + ")");
            uint32_t offset = req.addr - kRamBase;
            if (!top_->i_dma_ready) {
                waiting_ = true;
                waiting_req_ = req;
            } else if (req.write) {
                waiting_ = false;
                for (uint32_t k = 0; k < kDmaBytes; k++) {
                    if (!(req.wstrb >> k & 1))
                        continue;
                    if (!live(offset + k, offset + k + 1))
                        die(kTbError, "DMA write to " + hex(req.addr + k) + ", outside every operand");
                    ram[offset + k] = uint8_t(req.data[k / 4] >> (8 * (k % 4)));
                }
            } else {
                waiting_ = false;
                if (!live(offset, offset + kDmaBytes))
                    die(kTbError, "DMA read of " + hex(req.addr) + ", a word outside every operand");
                read_taken = true;
                read_offset = offset;
            }
        } else if (waiting_) {
            die(kTbError, "DMA request " + hex(waiting_req_.addr) + " withdrawn before it was taken");
        }

        top_->i_clk = 1;
        top_->eval();
        cycle_++;
        if (trace_)
            trace_->dump(2 * cycle_ - 1);
        // a read's data is there in the cycle after it was taken; garbage otherwise
        for (uint32_t w = 0; w < kDmaBytes / 4; w++) {
            uint32_t word = 0xdeadbeefu;
            if (read_taken)
                std::memcpy(&word, &ram[read_offset + 4 * w], 4);
            top_->i_dma_rdata[w] = word;
        }
        if (cycle_ - job_start_ > timeout_)
            die(kTbTimeout, "job still running after " + std::to_string(timeout_) + " cycles (+timeout)");
    }

    std::unique_ptr<Vrvtvm_accel> top_;
    std::unique_ptr<VerilatedVcdC> trace_;
    uint64_t cycle_ = 0, job_start_ = 0, timeout_ = 100000000;
    int stall_percent_ = 0;
    std::mt19937 rng_{1};
    bool waiting_ = false;
    DmaRequest waiting_req_{};
    std::vector<Range> live_;
    uint32_t used_ = 0;  // RAM offset past the last allocation
    unsigned jobs_ = 0;
};

Bench* bench;

}  // namespace

uint32_t rvtvm_accel_port_read(uint32_t offset) { return bench->reg_access(offset, 0, false); }

void rvtvm_accel_port_write(uint32_t offset, uint32_t value) { bench->reg_access(offset, value, true); }

uint32_t rvtvm_accel_port_bus_address(const void* pointer) { return bench->bus_address(pointer); }

void* accel_job_alloc(uint32_t bytes) { return bench->alloc(bytes); }

void accel_job_free_all(void) { bench->free_all(); }

int main(int argc, char** argv) {
    auto context = std::make_unique<VerilatedContext>();
    context->commandArgs(argc, argv);
    Bench the_bench(context.get());
    bench = &the_bench;
    int status = accel_job_serve(stdin, stdout);
    std::fflush(stdout);
    std::fprintf(stderr, "accel_driver_tb: %u jobs, %" PRIu64 " cycles\n", the_bench.jobs(), the_bench.cycles());
    the_bench.finish();
    return status;
}
