package secagg

// Version is this release of the library, as the command line and the C ABI report it.
const Version = "0.1.0-dev"
