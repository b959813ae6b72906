// vnic-mirror: an asynchronous storage mirror between a writer's send volume and a reader's
// receive volume, with faults (tests/fault/README.md).
#include <signal.h>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "mirror.h"

namespace {

volatile std::sig_atomic_t g_stop = 0, g_pause = 0, g_resume = 0, g_dump = 0;

void on_signal(int signo) {
  if (signo == SIGUSR1) g_pause = 1;
  if (signo == SIGUSR2) g_resume = 1;
  if (signo == SIGHUP) g_dump = 1;
  if (signo == SIGTERM || signo == SIGINT) g_stop = 1;
}

void log(const char* what) { std::fprintf(stderr, "vnic-mirror: %s\n", what); }

void write_stats(const vnic_fault::MirrorOptions& options, const vnic_fault::Mirror& mirror) {
  if (options.stats_file.empty()) return;
  // Written whole and renamed, so a test never reads half a file.
  std::string tmp = options.stats_file + ".tmp";
  std::ofstream(tmp) << to_json(mirror.stats()).dump() << "\n";
  std::rename(tmp.c_str(), options.stats_file.c_str());
}

// The control file's first line, or "" when there is none.
std::string read_control(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

class Controller {
 public:
  Controller(const vnic_fault::MirrorOptions& options, vnic_fault::Mirror& mirror)
      : options_(options), mirror_(mirror), start_(vnic_fault::Clock::now()) {
    if (options_.pause_after) next_pause_ = start_ + *options_.pause_after;
  }

  void tick(vnic_fault::TimePoint now) {
    if (g_pause) {
      g_pause = 0;
      set(signalled_, true, "paused (SIGUSR1)");
    }
    if (g_resume) {
      g_resume = 0;
      set(signalled_, false, "resumed (SIGUSR2)");
    }
    if (g_dump) {
      g_dump = 0;
      write_stats(options_, mirror_);
    }
    if (next_pause_ && now >= *next_pause_) {
      set(scheduled_, true, "scheduled outage begins");
      resume_at_ = now + options_.pause_for;
      next_pause_ = options_.pause_every ? std::optional(*next_pause_ + *options_.pause_every) : std::nullopt;
    }
    if (resume_at_ && now >= *resume_at_) {
      resume_at_.reset();
      set(scheduled_, false, "scheduled outage ends");
    }
    if (!options_.control_file.empty() && now >= next_control_) {
      next_control_ = now + std::chrono::milliseconds(10);
      std::string line = read_control(options_.control_file);
      if (line != control_) {
        control_ = line;
        std::istringstream words(line);
        std::string word;
        uint64_t count = 0;
        words >> word >> count;
        // One-shot bursts (a third word, if any, only makes the line differ from the last one).
        if (burst(word, count)) return;
        if (word == "vanish") {
          mirror_.vanish();
          log("destination vanished (control file)");
        }
        set(controlled_, word == "pause" || word == "vanish",
            word == "run" ? "resumed (control file)" : "paused (control file)");
      }
    }
  }

 private:
  bool burst(const std::string& word, uint64_t count) {
    if (word == "damage")
      mirror_.damage_next(count);
    else if (word == "lose")
      mirror_.lose_next(count);
    else if (word == "garbage")
      mirror_.garbage_ahead(count);
    else if (word == "damage-state")
      mirror_.damage_state_next(count);
    else
      return false;
    std::fprintf(stderr, "vnic-mirror: %s %llu (control file)\n", word.c_str(), static_cast<unsigned long long>(count));
    return true;
  }

  // Signals, the schedule and the control file each hold their own outage; the link is down
  // while any of them does, so one ending does not end another.
  void set(bool& source, bool paused, const char* why) {
    source = paused;
    bool want = signalled_ || scheduled_ || controlled_;
    if (want == mirror_.paused()) return;
    bool was_vanished = mirror_.vanished();
    if (want)
      mirror_.pause();
    else
      mirror_.resume();
    log(why);
    if (was_vanished && !want) log("destination rebuilt from the source");
  }

  const vnic_fault::MirrorOptions& options_;
  vnic_fault::Mirror& mirror_;
  vnic_fault::TimePoint start_;
  std::optional<vnic_fault::TimePoint> next_pause_, resume_at_;
  vnic_fault::TimePoint next_control_{};
  std::string control_;
  bool signalled_ = false, scheduled_ = false, controlled_ = false;
};

int run(const vnic_fault::MirrorOptions& options) {
  for (int s : {SIGUSR1, SIGUSR2, SIGHUP, SIGTERM, SIGINT}) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(s, &action, nullptr);
  }
  vnic_fault::Mirror mirror(options);
  mirror.initial_sync();
  Controller controller(options, mirror);
  log("running");
  while (!g_stop) {
    auto now = vnic_fault::Clock::now();
    controller.tick(now);
    if (mirror.step(now)) continue;
    auto wake = now + options.poll;
    if (auto due = mirror.next_due(); due && *due < wake) wake = *due;
    mirror.wait_until(wake);
  }
  write_stats(options, mirror);
  std::cout << to_json(mirror.stats()).dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The engine seam's fault injection is for the daemons under test, never for the mirror.
  ::unsetenv("VNIC_FAULT_INJECT");
  try {
    auto options = vnic_fault::parse_mirror_options(argc, argv);
    if (!options) return 0;
    return run(*options);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "vnic-mirror: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vnic-mirror: %s\n", e.what());
    return 1;
  }
}
