// The Verilator harness for rvtvm_soc: loads a firmware ELF into RAM, bridges the UART, runs the
// clock until the firmware exits through the finisher, and reports how the run ended.
//
//   Vrvtvm_soc +elf=FILE [+uart=SOCKET|stdio] [+timeout=CYCLES] [+trace=FILE.vcd]
//              [+trace_start=CYCLE] [+uart_rx_gap=CYCLES] [+uart_no_backpressure]
//
// +uart=SOCKET listens on a unix socket and holds the CPU in reset until one client connects
// (QEMU's `server=on,wait=on`), so no output is lost; stdio (the default) uses stdin/stdout.
// Received bytes enter the UART's FIFO at most one per +uart_rx_gap cycles (default 8) and only
// while it has room, unless +uart_no_backpressure (then a full FIFO overruns, as on a wire).
// +timeout ends a run after that many cycles (0 = never). +trace writes VCD waveforms (GTKWave)
// from +trace_start on.
//
// stderr ends with `SOC exit=<code> cycles=<n> seconds=<s> cycles_per_second=<r>` and then one
// line saying why the run ended (`rvtvm_soc: ...`), the line the Project API reports. Exit status: the firmware's finisher code, 3 when the
// CPU trapped or touched an unmapped address (the firmware's own trap exit code on QEMU), 124 on
// +timeout, 128+signal on SIGINT/SIGTERM, 2 on bad arguments or a bad ELF.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vrvtvm_soc.h"
#include "Vrvtvm_soc___024root.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

namespace {

constexpr uint32_t kRamBase = 0x80000000u;
constexpr int kExitTrap = 3;
constexpr int kExitTimeout = 124;
constexpr int kExitUsage = 2;
constexpr uint64_t kPollEveryCycles = 256;
constexpr uint32_t kFinisherPass = 0x5555u;
constexpr uint32_t kFinisherFail = 0x3333u;

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "rvtvm_soc: %s\n", message.c_str());
  std::exit(kExitUsage);
}

// ---- the firmware image ----

struct RamView {
  // The RAM array, DMA_BYTES-wide words of 32-bit limbs, as Verilator lays out a wide reg.
  uint32_t* limbs;
  uint32_t word_bytes;
  uint32_t bytes;

  void store(uint32_t offset, uint8_t value) const {
    uint32_t word = offset / word_bytes;
    uint32_t byte = offset % word_bytes;
    uint32_t& limb = limbs[word * (word_bytes / 4) + byte / 4];
    uint32_t shift = 8 * (byte % 4);
    limb = (limb & ~(0xFFu << shift)) | (uint32_t(value) << shift);
  }
};

uint32_t read_le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}
uint16_t read_le16(const std::vector<uint8_t>& b, size_t at) { return uint16_t(b[at] | b[at + 1] << 8); }

// Copies every PT_LOAD segment of a little-endian ELF32 RISC-V executable into RAM.
void load_elf(const std::string& path, const RamView& ram) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) usage_error("can't open the ELF " + path + ": " + std::strerror(errno));
  std::vector<uint8_t> elf;
  uint8_t chunk[65536];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) elf.insert(elf.end(), chunk, chunk + n);
  std::fclose(f);
  if (elf.size() < 52 || std::memcmp(elf.data(), "\x7f" "ELF", 4) != 0 || elf[4] != 1 || elf[5] != 1 ||
      read_le16(elf, 18) != 243 /* EM_RISCV */)
    usage_error(path + " is not a little-endian 32-bit RISC-V ELF");
  uint32_t phoff = read_le32(elf, 28);
  uint16_t phentsize = read_le16(elf, 42), phnum = read_le16(elf, 44);
  for (uint32_t i = 0; i < phnum; ++i) {
    size_t ph = size_t(phoff) + size_t(i) * phentsize;
    if (ph + 32 > elf.size()) usage_error(path + ": program header table is truncated");
    if (read_le32(elf, ph) != 1 /* PT_LOAD */) continue;
    uint32_t offset = read_le32(elf, ph + 4), paddr = read_le32(elf, ph + 12);
    uint32_t filesz = read_le32(elf, ph + 16), memsz = read_le32(elf, ph + 20);
    if (memsz == 0) continue;
    if (filesz > memsz || size_t(offset) + filesz > elf.size())
      usage_error(path + ": a segment lies outside the file");
    if (paddr < kRamBase || uint64_t(paddr - kRamBase) + memsz > ram.bytes) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "%s: segment at 0x%08x (+%u bytes) is outside RAM (0x%08x, %u bytes)",
                    path.c_str(), paddr, memsz, kRamBase, ram.bytes);
      usage_error(msg);
    }
    for (uint32_t k = 0; k < memsz; ++k) ram.store(paddr - kRamBase + k, k < filesz ? elf[offset + k] : 0);
  }
}

// ---- the UART's far end ----

class UartLink {
 public:
  explicit UartLink(const std::string& where) {
    if (where == "stdio") {
      in_fd_ = STDIN_FILENO;
      out_fd_ = STDOUT_FILENO;
    } else {
      listen_fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      if (where.size() >= sizeof addr.sun_path) usage_error("the +uart socket path is too long: " + where);
      std::strncpy(addr.sun_path, where.c_str(), sizeof addr.sun_path - 1);
      unlink(where.c_str());
      if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listen_fd_, 1) != 0)
        usage_error("can't listen on " + where + ": " + std::strerror(errno));
      path_ = where;
    }
  }
  ~UartLink() {
    if (in_fd_ >= 0 && !path_.empty()) close(in_fd_);
    if (listen_fd_ >= 0) close(listen_fd_);
    if (!path_.empty()) unlink(path_.c_str());
  }

  // Blocks until the host connects (sockets only); false if a signal came first.
  bool wait_for_client() {
    if (path_.empty()) return true;
    while (!g_signal) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) {
          in_fd_ = out_fd_ = fd;
          return true;
        }
      }
    }
    return false;
  }

  void send_byte(uint8_t byte) { tx_.push_back(byte); }
  bool has_rx() const { return !rx_.empty(); }
  uint8_t take_rx() {
    uint8_t byte = rx_.front();
    rx_.pop_front();
    return byte;
  }

  // Moves bytes both ways without blocking.
  void service() {
    if (in_fd_ < 0) return;
    if (!tx_.empty() && out_fd_ >= 0) flush_some(false);
    if (rx_.size() < 4096 && !in_closed_) {
      pollfd p{in_fd_, POLLIN, 0};
      if (poll(&p, 1, 0) > 0) {
        uint8_t buf[4096];
        ssize_t got = read(in_fd_, buf, sizeof buf);
        if (got > 0) rx_.insert(rx_.end(), buf, buf + got);
        else if (got == 0 || (errno != EAGAIN && errno != EINTR)) in_closed_ = true;
      }
    }
  }

  // Before exiting: hand the host whatever the firmware sent last.
  void drain() {
    if (out_fd_ >= 0) flush_some(true);
    if (!path_.empty() && out_fd_ >= 0) shutdown(out_fd_, SHUT_WR);
  }

 private:
  void flush_some(bool block) {
    while (!tx_.empty()) {
      pollfd p{out_fd_, POLLOUT, 0};
      if (poll(&p, 1, block ? 1000 : 0) <= 0) return;
      std::vector<uint8_t> chunk(tx_.begin(), tx_.end());
      ssize_t sent = send_to_host(chunk.data(), chunk.size());
      if (sent <= 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        tx_.clear();  // the host went away: drop, as QEMU does
        out_fd_ = -1;
        return;
      }
      tx_.erase(tx_.begin(), tx_.begin() + sent);
    }
  }
  ssize_t send_to_host(const uint8_t* data, size_t size) {
    if (path_.empty()) return write(out_fd_, data, size);
    return ::send(out_fd_, data, size, MSG_NOSIGNAL);
  }

  int listen_fd_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  bool in_closed_ = false;
  std::string path_;
  std::deque<uint8_t> tx_;
  std::deque<uint8_t> rx_;
};

uint64_t plusarg_u64(const char* name, uint64_t fallback) {
  std::string prefix = std::string("+") + name + "=";
  const char* arg = Verilated::commandArgsPlusMatch(prefix.c_str() + 1);
  if (!arg || !*arg) return fallback;
  const char* value = arg + prefix.size();
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(value, &end, 0);
  if (errno || end == value || *end) usage_error(std::string("bad ") + prefix + value + ": expected a number");
  return v;
}

std::string plusarg_str(const char* name) {
  std::string prefix = std::string("+") + name + "=";
  const char* arg = Verilated::commandArgsPlusMatch(prefix.c_str() + 1);
  if (!arg || !*arg) return "";
  return std::string(arg + prefix.size());
}

bool plusarg_flag(const char* name) {
  const char* arg = Verilated::commandArgsPlusMatch(name);
  return arg && *arg && std::strcmp(arg + 1, name) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto context = std::make_unique<VerilatedContext>();
  context->commandArgs(argc, argv);
  std::string elf = plusarg_str("elf");
  if (elf.empty()) usage_error("usage: Vrvtvm_soc +elf=FIRMWARE.elf [+uart=SOCKET|stdio] [+timeout=CYCLES] [+trace=FILE]");
  std::string uart_where = plusarg_str("uart");
  uint64_t timeout = plusarg_u64("timeout", 0);
  std::string trace_path = plusarg_str("trace");
  uint64_t trace_start = plusarg_u64("trace_start", 0);
  uint64_t rx_gap = plusarg_u64("uart_rx_gap", 8);
  bool no_backpressure = plusarg_flag("uart_no_backpressure");

  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto top = std::make_unique<Vrvtvm_soc>(context.get());
  auto& ram_array = top->rootp->rvtvm_soc__DOT__ram__DOT__mem;
  RamView ram{reinterpret_cast<uint32_t*>(&ram_array), uint32_t(sizeof(ram_array[0])),
              uint32_t(sizeof(ram_array))};
  load_elf(elf, ram);

  UartLink uart(uart_where.empty() ? "stdio" : uart_where);

  std::unique_ptr<VerilatedVcdC> trace;
  auto open_trace = [&]() {
    context->traceEverOn(true);
    trace = std::make_unique<VerilatedVcdC>();
    top->trace(trace.get(), 99);
    trace->open(trace_path.c_str());
  };

  if (!uart.wait_for_client()) {
    std::fprintf(stderr, "rvtvm_soc: stopped by signal %d while waiting for the UART's client\n", int(g_signal));
    return 128 + g_signal;
  }

  auto start = std::chrono::steady_clock::now();
  uint64_t cycles = 0;
  uint64_t next_rx = 0;
  int exit_code = -1;
  char why[200] = "";

  top->i_rst = 1;
  top->i_uart_rx_valid = 0;
  for (int i = 0; i < 4; ++i) {
    top->i_clk = 0;
    top->eval();
    top->i_clk = 1;
    top->eval();
  }
  top->i_rst = 0;

  while (exit_code < 0) {
    if (!trace && !trace_path.empty() && cycles >= trace_start) open_trace();
    // Inputs change away from the rising edge.
    top->i_uart_rx_valid = 0;
    if (uart.has_rx() && cycles >= next_rx && (top->o_uart_rx_ready || no_backpressure)) {
      top->i_uart_rx_byte = uart.take_rx();
      top->i_uart_rx_valid = 1;
      next_rx = cycles + rx_gap;
    }
    top->i_clk = 0;
    top->eval();
    if (trace) trace->dump(2 * cycles);
    top->i_clk = 1;
    top->eval();
    if (trace) trace->dump(2 * cycles + 1);
    ++cycles;

    if (top->o_uart_tx_valid) uart.send_byte(top->o_uart_tx_byte);
    if (top->o_finish) {
      uint32_t value = top->o_finish_value;
      if ((value & 0xFFFFu) == kFinisherPass) {
        exit_code = 0;
        std::snprintf(why, sizeof why, "the firmware finished");
      } else if ((value & 0xFFFFu) == kFinisherFail) {
        exit_code = int(value >> 16);
        std::snprintf(why, sizeof why, "the firmware exited with code %d", exit_code);
      }
    }
    if (top->o_trap) {
      exit_code = kExitTrap;
      std::snprintf(why, sizeof why,
                    "the CPU trapped at pc 0x%08x (illegal instruction, ebreak/ecall or misaligned access); "
                    "PicoRV32 halts on traps",
                    uint32_t(top->rootp->rvtvm_soc__DOT__cpu__DOT__reg_pc));
    }
    if (top->o_fault) {
      exit_code = kExitTrap;
      std::snprintf(why, sizeof why, "the firmware accessed unmapped address 0x%08x (pc 0x%08x)",
                    uint32_t(top->o_fault_addr), uint32_t(top->rootp->rvtvm_soc__DOT__cpu__DOT__reg_pc));
    }
    if (timeout && cycles >= timeout && exit_code < 0) {
      exit_code = kExitTimeout;
      std::snprintf(why, sizeof why, "timeout: still running after %llu cycles (+timeout)",
                    static_cast<unsigned long long>(cycles));
    }
    if (cycles % kPollEveryCycles == 0) {
      uart.service();
      if (g_signal && exit_code < 0) {
        exit_code = 128 + g_signal;
        std::snprintf(why, sizeof why, "stopped by signal %d", int(g_signal));
      }
    }
  }
  uart.drain();
  if (trace) trace->close();
  top->final();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "SOC exit=%d cycles=%llu seconds=%.3f cycles_per_second=%.0f\n", exit_code,
               static_cast<unsigned long long>(cycles), seconds, seconds > 0 ? double(cycles) / seconds : 0.0);
  std::fprintf(stderr, "rvtvm_soc: %s\n", why);
  return exit_code;
}
