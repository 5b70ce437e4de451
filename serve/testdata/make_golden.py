"""Writes the golden v2 requests and responses of serve's tests.

The JSON follows the examples of the Open Inference Protocol v2 (kserve
docs/predict-api/v2/required_api.md, "Inference Request Examples") and of
Triton's binary tensor data and classification extensions, laid out as those
documents lay them out; the tensors are the first MNIST test images of
testdata/torch/mnist_ce_adam.input.f32 and the expected outputs are what
onnxruntime 1.30 computed for them (mnist_ce_adam.ort.f32), not what our server
prints. Run with /usr/bin/python3 from this folder.
"""
import json
import struct

N, K, PIXELS = 7, 10, 28 * 28


def floats(path):
    data = open(path, "rb").read()
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def f32(v):
    # the shortest decimal that reads back as the same float32
    for digits in range(1, 10):
        s = "%.*g" % (digits, v)
        if struct.unpack("<f", struct.pack("<f", float(s)))[0] == struct.unpack("<f", struct.pack("<f", v))[0]:
            return s
    return repr(v)


def num_list(values):
    return "[ " + ", ".join(values) + " ]"


x = floats("../../testdata/torch/mnist_ce_adam.input.f32")
ort = floats("../../testdata/torch/mnist_ce_adam.ort.f32")
assert len(x) == N * PIXELS and len(ort) == N * K
img = [x[i * PIXELS:(i + 1) * PIXELS] for i in range(N)]
probs = [ort[i * K:(i + 1) * K] for i in range(N)]
pixels = [[round(v * 255) for v in im] for im in img]
assert all(abs(p / 255 - v) < 1e-6 for im, px in zip(img, pixels) for v, p in zip(im, px))


def write(name, text):
    with open(name, "w") as f:
        f.write(text)


# The spec's request example: id "42", one input, one requested output.
write("infer_request.json", """{
  "id" : "42",
  "inputs" : [
    {
      "name" : "image",
      "shape" : [ 1, 1, 28, 28 ],
      "datatype" : "FP32",
      "data" : %s
    }
  ],
  "outputs" : [
    {
      "name" : "probabilities"
    }
  ]
}
""" % num_list(f32(v) for v in img[0]))

# The spec's response example (plus model_name and model_version, which its
# response object defines).
write("infer_response.json", """{
  "model_name" : "mnist",
  "model_version" : "1",
  "id" : "42",
  "outputs" : [
    {
      "name" : "probabilities",
      "shape" : [ 1, 10 ],
      "datatype"  : "FP32",
      "data" : %s
    }
  ]
}
""" % num_list(f32(v) for v in probs[0]))

# Nested data ("in their natural multi-dimensional representation"), batch of
# 2, no id and no outputs named: every output comes back.
def nested(im):
    rows = ["[ " + ", ".join(f32(v) for v in im[r * 28:(r + 1) * 28]) + " ]" for r in range(28)]
    return "[ [ " + ",\n          ".join(rows) + " ] ]"


write("infer_request_nested.json", """{
  "inputs" : [
    {
      "name" : "image",
      "shape" : [ 2, 1, 28, 28 ],
      "datatype" : "FP32",
      "data" : [ %s,
                 %s ]
    }
  ]
}
""" % (nested(img[0]), nested(img[1])))

write("infer_response_nested.json", """{
  "model_name" : "mnist",
  "model_version" : "1",
  "id" : "",
  "outputs" : [
    {
      "name" : "probabilities",
      "shape" : [ 2, 10 ],
      "datatype"  : "FP32",
      "data" : %s
    }
  ]
}
""" % num_list(f32(v) for p in probs[:2] for v in p))

# UINT8 pixels (0..255), scaled by the model's pixel range [0,1].
write("infer_request_uint8.json", """{
  "id" : "uint8",
  "inputs" : [
    {
      "name" : "image",
      "shape" : [ 3, 1, 28, 28 ],
      "datatype" : "UINT8",
      "data" : %s
    }
  ]
}
""" % num_list(str(p) for px in pixels[:3] for p in px))

write("infer_response_uint8.json", """{
  "model_name" : "mnist",
  "model_version" : "1",
  "id" : "uint8",
  "outputs" : [
    {
      "name" : "probabilities",
      "shape" : [ 3, 10 ],
      "datatype"  : "FP32",
      "data" : %s
    }
  ]
}
""" % num_list(f32(v) for p in probs[:3] for v in p))

# Binary tensor data extension: the example's request header (it carries
# "model_name" too); the test appends 2 x 784 little-endian float32 after it.
write("binary_request_header.json", """{
  "model_name" : "mnist",
  "inputs" : [
    {
      "name" : "image",
      "shape" : [ 2, 1, 28, 28 ],
      "datatype" : "FP32",
      "parameters" : {
        "binary_data_size" : 6272
      }
    }
  ],
  "outputs" : [
    {
      "name" : "probabilities",
      "parameters" : {
        "binary_data" : true
      }
    }
  ]
}
""")
with open("binary_request.bin", "wb") as f:
    f.write(struct.pack("<%df" % (2 * PIXELS), *(img[0] + img[1])))

# Its response header; the 80 bytes after it are probs[0] + probs[1].
write("binary_response_header.json", """{
  "model_name" : "mnist",
  "model_version" : "1",
  "id" : "",
  "outputs" : [
    {
      "name" : "probabilities",
      "shape" : [ 2, 10 ],
      "datatype"  : "FP32",
      "parameters" : {
        "binary_data_size" : 80
      }
    }
  ]
}
""")
with open("binary_response.bin", "wb") as f:
    f.write(struct.pack("<%df" % (2 * K), *(probs[0] + probs[1])))

# Classification extension: top 2 of each of 2 images, "value:index:label".
def top(p, k):
    order = sorted(range(K), key=lambda i: -p[i])[:k]
    return ['"%s:%d:%d"' % (f32(p[i]), i, i) for i in order]


write("classification_request.json", """{
  "id" : "42",
  "inputs" : [
    {
      "name" : "image",
      "shape" : [ 2, 1, 28, 28 ],
      "datatype" : "FP32",
      "data" : %s
    }
  ],
  "outputs" : [
    {
      "name" : "probabilities",
      "parameters" : { "classification" : 2 }
    }
  ]
}
""" % num_list(f32(v) for im in img[:2] for v in im))

write("classification_response.json", """{
  "model_name" : "mnist",
  "model_version" : "1",
  "id" : "42",
  "outputs" : [
    {
      "name" : "probabilities",
      "shape" : [ 2, 2 ],
      "datatype"  : "BYTES",
      "data" : [ %s ]
    }
  ]
}
""" % ", ".join(top(probs[0], 2) + top(probs[1], 2)))

# The image endpoint answers like `onnxdigits predict --json`.
def prediction(name, p):
    order = sorted(range(K), key=lambda i: -p[i])
    return {
        "file": name,
        "label": str(order[0]),
        "class_index": order[0],
        "top": [{"class": str(i), "probability": float(f32(p[i]))} for i in order[:3]],
        "probabilities": [float(f32(v)) for v in p],
        "output": "probabilities",
    }


write("image_response.json", json.dumps([prediction("body", probs[0])], indent=2) + "\n")
write("image_multipart_response.json", json.dumps([prediction("seven.png", probs[0]), prediction("two.png", probs[1])], indent=2) + "\n")
with open("mnist_pixels.u8", "wb") as f:
    f.write(bytes(pixels[0] + pixels[1]))
