// The process's shared, randomised libsecp256k1 context (private to lib/).
#pragma once

#include <secp256k1.h>

namespace digm {

const secp256k1_context* SecpContext();

}  // namespace digm
