// Runs a program from build/bin as a child process with captured output: tests drive the CLIs through their
// real entry point. Every wait is bounded.
#ifndef TESSERA_TESTS_SUBPROCESS_H_
#define TESSERA_TESTS_SUBPROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tessera::testing {

struct ProcessResult {
  int exit_code = -1;  // -1: killed after the timeout, or a signal
  std::string out;
  std::string err;
};

class Subprocess {
 public:
  // Starts `program` (a path) with `args`; stdout and stderr are captured through pipes.
  Subprocess(const std::string& program, const std::vector<std::string>& args,
             const std::vector<std::string>& extra_env = {}) {
    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
    posix_spawn_file_actions_addclose(&fa, err_pipe[0]);
    std::vector<std::string> argv_s = {program};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (std::string& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }
  ~Subprocess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  bool started() const { return pid_ > 0; }
  void Signal(int sig) {
    if (pid_ > 0 && !reaped_) kill(pid_, sig);
  }

  // Waits for exit (draining output); kills the child after `timeout`.
  ProcessResult Wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
      Drain();
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        reaped_ = true;
        Drain();
        result_.exit_code = -1;
        return result_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Drain();
    result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result_;
  }

  const std::string& out_so_far() {
    Drain();
    return result_.out;
  }

 private:
  void Drain() {
    char buf[65536];
    for (auto [fd, sink] : {std::pair{out_fd_, &result_.out}, std::pair{err_fd_, &result_.err}}) {
      while (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        sink->append(buf, static_cast<size_t>(n));
      }
    }
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
  ProcessResult result_;
};

inline ProcessResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  Subprocess p(program, args);
  if (!p.started()) return {};
  return p.Wait(timeout);
}

inline std::string BinPath(const std::string& name) {
  return std::string(TESSERA_BIN_DIR) + "/" + name;
}

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_SUBPROCESS_H_
