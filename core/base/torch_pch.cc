// Anchor translation unit that owns the shared LibTorch precompiled header.
#include "core/base/torch_pch.h"
