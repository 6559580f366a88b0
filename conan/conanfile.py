# Conan 2 recipe: the dependencies for a build outside Debian, and a package
# of qflash itself (libqflash static or shared, qflash, qflash-mass).
#
#   conan install conan --output-folder=build --build=missing   # dependencies only (README)
#   conan create conan --build=missing                          # build and package qflash
#
# At run time HTTPS images need the system's CA certificates (Debian and
# Ubuntu: the ca-certificates package; Fedora: ca-certificates): libcurl
# checks servers against them, and Conan does not provide them.
import os

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeToolchain
from conan.tools.files import copy
from conan.tools.gnu import PkgConfigDeps


class QflashConan(ConanFile):
    name = "qflash"
    version = "0.2.0"
    license = "see LICENSE"
    description = "Write QCOW2 images onto block devices and files, one image onto many drives at once"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "with_tests": [True, False]}
    default_options = {"shared": False, "with_tests": True}

    def export_sources(self):
        root = os.path.join(self.recipe_folder, "..")
        for pattern in ("CMakeLists.txt", "LICENSE", "io/*", "codecs/*", "engine/*", "tools/*",
                        "tests/*", "bench/*"):
            copy(self, pattern, root, self.export_sources_folder)

    def requirements(self):
        self.requires("liburing/2.4")
        self.requires("libdeflate/1.19")
        self.requires("zstd/1.5.5")
        self.requires("libcurl/8.4.0")
        self.requires("libmount/2.39")
        self.requires("xz_utils/5.4.5")
        self.requires("bzip2/1.0.8")
        self.requires("expat/2.5.0")
        self.requires("openssl/3.2.0")
        self.requires("isa-l/2.30.0")
        if self.options.with_tests:
            self.requires("gtest/1.14.0")
            self.requires("benchmark/1.8.3")

    def generate(self):
        # The CMake files find every library through pkg-config.
        PkgConfigDeps(self).generate()
        tc = CMakeToolchain(self)
        tc.variables["QFLASH_TESTS"] = bool(self.options.with_tests)
        tc.variables["QFLASH_BENCH"] = bool(self.options.with_tests)
        tc.variables["QFLASH_SHARED"] = bool(self.options.shared)
        tc.generate()

    def build(self):
        os.environ["PKG_CONFIG_PATH"] = self.generators_folder
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        CMake(self).install()

    def package_info(self):
        self.cpp_info.libs = ["qflash"]
        self.cpp_info.system_libs = ["pthread"]
        self.cpp_info.set_property("cmake_file_name", "qflash")
        self.cpp_info.set_property("cmake_target_name", "qflash::qflash")
        self.cpp_info.set_property("pkg_config_name", "qflash")
