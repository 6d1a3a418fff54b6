resource "terraform_data" "a" {
  provisioner /* a comment
  spanning lines */ "remote-exec" {
    inline = ["id"]
    connection {
      host = "127.0.0.1"
    }
  }
}
